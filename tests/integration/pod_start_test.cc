// `podshim start` end to end: it returns only once the control socket answers, prints that
// path, leaves a detached shim (own session, not the caller's child, pid in the pid file) that
// `ctl` drives and that outlives its caller; a SIGKILLed shim leaves the last known state for
// `ctl status`, and a new `start` or `run` on its state dir stops its containers, records their
// ends as unknown and runs the pod afresh; bad input exits 2 and failures after detaching exit 1,
// both leaving nothing.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"
#include "integration/pod_start_fixture.h"

namespace {

using namespace podshim::pod_start_test;  // NOLINT: the fixture and its helpers
using namespace podshim::pod_test;        // NOLINT
namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string TwoContainerPod() {
  return Spec("Always", C("side", kUntilTerm, true), C("app", kUntilTerm), 5);
}

// One raw request on the control socket: the first response line, parsed.
json AskStatus(const fs::path& socket) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return {{"connect", why}};
  }
  std::string req = "{\"id\":1,\"command\":\"status\"}\n";
  EXPECT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string line;
  char c;
  while (::recv(fd, &c, 1, 0) == 1 && c != '\n') line += c;
  ::close(fd);
  return json::parse(line, nullptr, /*allow_exceptions=*/false);
}

TEST_F(PodStartTest, ReturnsOnceTheSocketAnswersAndCtlStopEndsThePodInOrder) {
  WriteManifest("startstop", TwoContainerPod());
  Outcome r = Start();
  ASSERT_EQ(r.status, 0) << r.err;
  // Right away, no retry: the socket already listens.
  json status = AskStatus(Socket());
  EXPECT_EQ(status.value("ok", false), true) << status.dump();
  EXPECT_EQ(status["result"].value("name", ""), "startstop") << status.dump();
  EXPECT_EQ(r.out, Socket().string() + "\n");
  EXPECT_EQ(r.err, "");

  // The pid file names a live shim that is not our child and runs in a session of its own.
  ASSERT_GT(shim_, 0) << ReadText(state_ / "podshim.pid");
  EXPECT_TRUE(Alive(shim_));
  EXPECT_NE(ParentOf(shim_), ::getpid());
  EXPECT_EQ(::waitpid(shim_, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_NE(::getsid(shim_), ::getsid(0));
  EXPECT_NE(::getpgid(shim_), ::getpgid(0));
  // Its stdio is /dev/null; its own log is in the state dir.
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(shim_) + "/fd/1"), "/dev/null");
  EXPECT_TRUE(fs::exists(state_ / "podshim.log"));

  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();
  ASSERT_TRUE(WaitUntil([&] { return CtlStatus().value("phase", "") == "Running"; }, seconds(5)))
      << CtlStatus().dump();
  json now = CtlStatus();
  EXPECT_EQ(ContainerStatusOf(now, "app")["state"].contains("running"), true) << now.dump();
  EXPECT_EQ(ContainerStatusOf(now, "side")["state"].contains("running"), true) << now.dump();
  Outcome text = Ctl({"status"});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("pod startstop: Running"), std::string::npos) << text.out;

  Outcome events = Ctl({"--json", "events"});
  ASSERT_EQ(events.status, 0) << events.err;
  std::vector<std::string> types;
  std::istringstream lines(events.out);
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("result") && j["result"].contains("event")) {
      types.push_back(j["result"]["event"].value("type", ""));
    }
  }
  ASSERT_FALSE(types.empty()) << events.out;
  EXPECT_EQ(types.front(), "PodStarted") << events.out;
  EXPECT_NE(std::find(types.begin(), types.end(), "ContainerStarted"), types.end());

  // A second start for the same state dir is refused before it touches anything.
  Outcome again = Exec(StartArgv({}));
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("a shim already runs for this state dir"), std::string::npos)
      << again.err;
  EXPECT_EQ(ReadPid(state_ / "podshim.pid"), shim_);
  EXPECT_EQ(Find(Events(), "PodStarted"), 0) << Dump();

  Outcome stop = Ctl({"stop"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(20))) << Dump();
  auto ev = Events();
  int term = Find(ev, "TerminationStarted");
  ASSERT_GE(term, 0) << Dump();
  EXPECT_EQ(ev[term]["reason"], "Request");
  EXPECT_LT(term, Find(ev, "ContainerExited", "app"));
  EXPECT_LT(Find(ev, "ContainerExited", "app"), Find(ev, "ContainerExited", "side"));
  EXPECT_LT(Find(ev, "ContainerExited", "side"), Find(ev, "PodFinished"));
  EXPECT_EQ(ev.back()["type"], "PodFinished");
  EXPECT_FALSE(fs::exists(Socket()));
  EXPECT_FALSE(fs::exists(state_ / "podshim.pid"));
  EXPECT_FALSE(fs::exists(PodCgroup()));
  // The state dir stays with what the pod left: events, status, logs, exit records.
  EXPECT_EQ(ReadText(state_ / "containers/app/exit"), "0\n");
  EXPECT_EQ(Status().value("phase", ""), "Succeeded");
  ExpectNothingLeft();
}

TEST_F(PodStartTest, PidFileOptionAndRelativePathsFromTheCallersDirectory) {
  WriteManifest("pidfile", TwoContainerPod());
  fs::create_directories(tmp_ / "run");
  // Relative --pid-file and --state-dir are taken from the caller's cwd, not the shim's "/".
  std::string cwd = fs::current_path();
  fs::current_path(tmp_);
  Outcome r = Start({"--state-dir", "state", "--pid-file", "run/shim.pid"}, tmp_ / "run/shim.pid");
  fs::current_path(cwd);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, Socket().string() + "\n");
  ASSERT_GT(shim_, 0);
  EXPECT_TRUE(Alive(shim_));
  EXPECT_FALSE(fs::exists(state_ / "podshim.pid"));
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(shim_) + "/cwd"), "/");
  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();
  EXPECT_EQ(Ctl({"stop", "--grace", "2"}).status, 0);
  EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(20))) << Dump();
  EXPECT_FALSE(fs::exists(tmp_ / "run/shim.pid"));
  EXPECT_EQ(Events().back()["type"], "PodFinished");
  ExpectNothingLeft();
}

TEST_F(PodStartTest, PodRunsOnAfterTheCallerOfStartIsKilled) {
  WriteManifest("orphan", TwoContainerPod());
  // A wrapper shell runs `podshim start` and then sleeps; the whole group is SIGKILLed as soon
  // as the shim wrote its pid file, possibly before the caller got "ready".
  std::vector<std::string> argv = {"/bin/sh", "-c", "\"$@\" >/dev/null 2>&1; exec sleep 600", "sh"};
  for (const std::string& a : StartArgv({})) argv.push_back(a);
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t wrapper = -1;
  ASSERT_EQ(::posix_spawn(&wrapper, "/bin/sh", nullptr, &attr, cargv.data(), environ), 0);
  posix_spawnattr_destroy(&attr);
  ASSERT_TRUE(WaitUntil([&] { return ReadPid(state_ / "podshim.pid") > 0; }, seconds(20)));
  shim_ = ReadPid(state_ / "podshim.pid");
  ASSERT_EQ(::kill(-wrapper, SIGKILL), 0);
  int st = 0;
  ASSERT_EQ(::waitpid(wrapper, &st, 0), wrapper);
  EXPECT_TRUE(WIFSIGNALED(st));

  // The shim survives its caller (and a write of "ready" to a pipe nobody reads).
  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();
  ASSERT_TRUE(WaitUntil([&] { return CtlStatus().value("phase", "") == "Running"; }, seconds(5)))
      << Dump();
  EXPECT_TRUE(Alive(shim_));
  EXPECT_EQ(Ctl({"stop"}).status, 0);
  EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(20))) << Dump();
  EXPECT_EQ(Events().back()["type"], "PodFinished");
  ExpectNothingLeft();
}

TEST_F(PodStartTest, CtlStatusAfterTheShimWasKilledShowsTheLastKnownStateNoMadeUpExit) {
  WriteManifest("killed", Spec("Always", C("side", kUntilTerm, true),
                               C("app", "exit 3") + C("worker", kUntilTerm), 5));
  Outcome r = Start();
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_GT(shim_, 0);
  // app exits 3 (recorded, then restarted by policy Always); worker keeps running.
  ASSERT_TRUE(WaitForEvent("ContainerExited", "app")) << Dump();
  ASSERT_TRUE(WaitUntil([&] { return CtlStatus().value("phase", "") == "Running"; }, seconds(5)));
  ASSERT_EQ(::kill(shim_, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(10)));

  Outcome text = Ctl({"status"});
  EXPECT_EQ(text.status, 1);
  EXPECT_NE(text.out.find("the shim is gone"), std::string::npos) << text.out << text.err;
  EXPECT_NE(text.out.find("pod killed: Running"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("app: exit status 3"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("worker: none (no exit was recorded)"), std::string::npos) << text.out;

  Outcome js = Ctl({"--json", "status"});
  EXPECT_EQ(js.status, 1);
  json j = json::parse(js.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << js.out;
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["lastKnown"]["status"]["phase"], "Running") << js.out;
  EXPECT_EQ(j["lastKnown"]["exitRecords"]["app"]["status"], 3) << js.out;
  // Still running when the shim died: no exit was recorded, and none is made up.
  EXPECT_TRUE(j["lastKnown"]["exitRecords"]["worker"].is_null()) << js.out;
  EXPECT_TRUE(j["lastKnown"]["exitRecords"]["side"].is_null()) << js.out;

  // The orphaned containers are still in the pod cgroup: kill them and remove it.
  EXPECT_TRUE(fs::exists(PodCgroup()));
  EXPECT_FALSE(PodProcesses("podrun-token", "podrun-token").empty());
  RemoveOrphans();
  EXPECT_TRUE(
      WaitUntil([&] { return PodProcesses("podrun-token", "podrun-token").empty(); }, seconds(5)));
  ExpectNothingLeft();
}

// Every file below `dir` (relative path -> content), to compare a state dir before and after.
std::map<std::string, std::string> FilesBelow(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = fs::relative(e.path(), dir).string();
    files[name] = e.is_regular_file() ? ReadText(e.path()) : std::string("<not a file>");
  }
  return files;
}

// The shim SIGKILLed with init done and a sidecar and an app running: its containers run on,
// unsupervised, until a new start on the state dir stops them (their pids are gone), records
// each as ended with an unknown exit (no exit code made up), keeps the old run's events and runs
// the pod afresh. Before that, `ctl status` says the shim is gone.
TEST_F(PodStartTest, StartOnADeadShimsStateDirStopsItsContainersAndRunsThePodAfresh) {
  WriteManifest(
      UniqueName("dead"),
      Spec("Always", C("init", "exit 0") + C("side", kUntilTerm, true), C("app", kUntilTerm), 5));
  Outcome r = Start();
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_GT(shim_, 0);
  std::map<std::string, pid_t> pids = WaitForRunning({"side", "app"});
  ASSERT_FALSE(pids.empty()) << Dump();
  ASSERT_EQ(::kill(shim_, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(10)));
  const pid_t dead = shim_;
  shim_ = -1;
  const std::string old_events = ReadText(state_ / "events.jsonl");

  // Nobody supervises them now, and they run on.
  for (const auto& [name, pid] : pids) EXPECT_TRUE(Alive(pid)) << name;
  Outcome gone = Ctl({"status"});
  EXPECT_EQ(gone.status, 1);
  EXPECT_NE(gone.out.find("the shim is gone"), std::string::npos) << gone.out << gone.err;
  EXPECT_NE(gone.out.find("may still run, unsupervised"), std::string::npos) << gone.out;

  Outcome again = Start();
  ASSERT_EQ(again.status, 0) << again.err;
  ASSERT_GT(shim_, 0);
  EXPECT_NE(shim_, dead);
  // The old containers were stopped before the new pod started.
  for (const auto& [name, pid] : pids) EXPECT_FALSE(Alive(pid)) << name << " " << pid;
  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();

  // The old run's events are kept, completed by the unknown ends; the new run has its own.
  const std::string previous = ReadText(state_ / "events.previous.jsonl");
  ASSERT_TRUE(previous.starts_with(old_events)) << previous;
  std::vector<json> prev;
  std::istringstream in(previous);
  for (std::string line; std::getline(in, line);) prev.push_back(json::parse(line));
  for (const std::string name : {"side", "app"}) {
    int i = UnknownEnd(prev, name);
    ASSERT_GE(i, 0) << name << "\n" << previous;
    EXPECT_TRUE(prev[i]["exitCode"].is_null()) << prev[i];
    EXPECT_TRUE(prev[i]["signal"].is_null()) << prev[i];
    EXPECT_NE(prev[i].value("message", "").find(std::to_string(dead)), std::string::npos);
  }
  EXPECT_EQ(UnknownEnd(prev, "init"), -1);  // it had exited, with a real exit code
  EXPECT_EQ(prev.back()["type"], "PodFinished");
  EXPECT_EQ(prev.back()["phase"], "Unknown");
  std::vector<json> now = Events();
  ASSERT_FALSE(now.empty());
  EXPECT_EQ(now.front()["type"], "PodStarted");
  EXPECT_EQ(UnknownEnd(now, "app"), -1);

  Outcome stop = Ctl({"stop"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(20)));
  EXPECT_EQ(Events().back()["type"], "PodFinished");
  ExpectNothingLeft();
}

// `podshim run` takes a dead shim's pod over the same way.
TEST_F(PodStartTest, RunOnADeadShimsStateDirStopsItsContainersToo) {
  WriteManifest(UniqueName("deadrun"), Spec("Always", "", C("app", kUntilTerm), 5));
  Outcome r = Start();
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, pid_t> pids = WaitForRunning({"app"});
  ASSERT_FALSE(pids.empty()) << Dump();
  ASSERT_EQ(::kill(shim_, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(10)));
  shim_ = -1;

  const pid_t run = Spawn();
  // The dead run's events, completed by the unknown end, become events.previous.jsonl; then the
  // new run starts its app.
  auto previous = [&] {
    std::vector<json> prev;
    std::istringstream in(ReadText(state_ / "events.previous.jsonl"));
    for (std::string line; std::getline(in, line);) prev.push_back(json::parse(line));
    return prev;
  };
  ASSERT_TRUE(WaitUntil([&] { return UnknownEnd(previous(), "app") >= 0; }, seconds(10))) << Dump();
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "app", 0, seconds(10), run)) << Dump();
  EXPECT_NE(Events()[Find(Events(), "ContainerStarted", "app")]["pid"], pids["app"]);
  EXPECT_FALSE(Alive(pids["app"]));
  EXPECT_EQ(Stop(run), 128 + SIGTERM);
  ExpectNothingLeft();
}

// A live shim holds the state dir: a second `run` on it is refused and changes nothing there,
// and `ctl status` does not call a live shim gone.
TEST_F(PodStartTest, SecondShimOnALiveShimsStateDirIsRefusedAndChangesNothing) {
  WriteManifest(UniqueName("live"), Spec("Always", "", C("app", kUntilTerm), 5));
  Outcome r = Start();
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(WaitForEvent("PodReady", "")) << Dump();
  // Everything but status.json, which the live shim may be rewriting.
  auto files = [&] {
    std::map<std::string, std::string> f = FilesBelow(state_);
    std::erase_if(f, [](const auto& kv) { return kv.first.starts_with("status.json"); });
    return f;
  };
  const std::map<std::string, std::string> before = files();
  Outcome run = Exec(Argv({}));
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("a shim already runs for state dir"), std::string::npos) << run.err;
  EXPECT_EQ(files(), before);
  EXPECT_TRUE(Alive(shim_));
  EXPECT_EQ(Ctl({"stop"}).status, 0);
  EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(20)));
  ExpectNothingLeft();
}

// A SIGTERM to the detached shim while it sets the pod up (from the moment its pid file exists)
// is handled once the pod started: `start` still reports ready, and the shim terminates the pod in
// order and exits, leaving nothing (it used to die of the signal before its socket listened).
TEST_F(PodStartTest, SigtermToTheShimDuringItsSetUpStopsThePodInOrder) {
  WriteManifest(UniqueName("early"), Spec("Always", "", C("app", kUntilTerm), 2));
  std::mt19937 rng(static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<int> delay_us(0, 10000);
  const fs::path pid_file = state_ / "podshim.pid";
  for (int i = 0; i < 20; ++i) {
    const int delay = delay_us(rng);
    pid_t signalled = -1;
    std::thread killer([&] {
      if (!WaitUntil([&] { return ReadPid(pid_file) > 0; }, seconds(20))) return;
      signalled = ReadPid(pid_file);
      std::this_thread::sleep_for(std::chrono::microseconds(delay));
      ::kill(signalled, SIGTERM);
    });
    Outcome r = Exec(StartArgv({}));
    killer.join();
    ASSERT_GT(signalled, 0) << "run " << i;
    shim_ = signalled;
    EXPECT_EQ(r.status, 0) << "run " << i << ": " << r.err;
    ASSERT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(20))) << "run " << i;
    shim_ = -1;
    EXPECT_EQ(Events().back()["type"], "PodFinished") << "run " << i << "\n" << Dump();
    EXPECT_EQ(Events().back()["phase"], "Terminated") << "run " << i;
    EXPECT_FALSE(fs::exists(pid_file));
    ExpectNothingLeft();
    if (HasFailure()) return;
  }
}

TEST_F(PodStartTest, BadManifestExitsTwoAndCreatesNothing) {
  WriteManifest("bad", Spec("Never", "", C("app", "true") + "    resourcez: {}\n"));
  Outcome r = Start();
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("spec.containers[0].resourcez"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  ExpectFailedStartLeftNothing(state_);

  WriteManifest("bad", Spec("Never", "", C("app", "true") + "    bundle: nope\n"));
  r = Start();
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("podshim start:"), std::string::npos) << r.err;
  ExpectFailedStartLeftNothing(state_);

  r = Exec({PODSHIM_BINARY, "start", "--pid-file"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--pid-file: missing value"), std::string::npos) << r.err;
  r = Exec({PODSHIM_BINARY, "run", "--pid-file", "x", "m.yaml"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown option --pid-file"), std::string::npos) << r.err;
}

TEST_F(PodStartTest, SocketPathTooLongFailsAfterDetachingAndLeavesNothing) {
  WriteManifest("longpath", TwoContainerPod());
  fs::path state_dir = tmp_ / std::string(120, 's');
  Outcome r = Start({"--state-dir", state_dir.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("podshim start: control socket"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("podshim.sock"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  ExpectFailedStartLeftNothing(state_dir);
}

TEST_F(PodStartTest, UnwritableStateDirOrPidFileFailsAfterDetachingAndLeavesNothing) {
  WriteManifest("readonly", TwoContainerPod());
  fs::path ro = tmp_ / "ro";
  fs::create_directories(ro);
  ASSERT_EQ(::mount("tmpfs", ro.c_str(), "tmpfs", MS_RDONLY, "size=64k"), 0)
      << std::strerror(errno);
  Outcome r = Start({"--state-dir", (ro / "state").string()});
  EXPECT_EQ(::umount2(ro.c_str(), MNT_DETACH), 0);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("mkdir " + (ro / "state").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  ExpectFailedStartLeftNothing(ro / "state");

  // The pid file is written once the state dir exists: that state dir goes again.
  r = Start({"--pid-file", (tmp_ / "no/such/dir/shim.pid").string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("write the pid file"), std::string::npos) << r.err;
  ExpectFailedStartLeftNothing(state_);
}

TEST_F(PodStartTest, ShimDyingBeforeItReportedIsCleanedUpByTheCaller) {
  WriteManifest("dies", TwoContainerPod());
  // The shim SIGKILLs itself once its socket listens: cgroup, state dir, pid file and socket
  // exist, nothing was reported.
  Outcome r = Exec(StartArgv({}), {"PODSHIM_START_DIE_BEFORE_READY_FOR_TEST=1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("podshim start: the shim (pid "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("died before its control socket listened"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(PodCgroup()));
  ExpectFailedStartLeftNothing(state_);
}

}  // namespace
