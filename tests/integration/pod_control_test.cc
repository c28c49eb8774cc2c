// The control API (docs/control-api.md) against real pods: each test starts `podshim run` on a
// busybox pod, talks to <state-dir>/podshim.sock with a small blocking line client (or through
// `podshim ctl`), checks what the shim answered against events.jsonl, status and /proc, and ends
// with the pod stopped and nothing of it left.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/unique_fd.h"
#include "gtest/gtest.h"
#include "integration/pod_fixture.h"
#include "shim/control/control_client.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;
using podshim::UniqueFd;
namespace control = podshim::shim::control;

// A blocking client of the control socket: sends lines, reads lines. Reads and sends give up
// after `timeout` (SO_RCVTIMEO, SO_SNDTIMEO) so that a shim that does not answer fails the test
// instead of hanging it.
class LineClient {
 public:
  // Connects to `path`; connected() is false when that failed (error() says why).
  explicit LineClient(const fs::path& path, std::chrono::seconds timeout = 30s) {
    auto fd = control::ConnectControlSocket(path.string());
    if (!fd) {
      error_ = fd.error().ToString();
      return;
    }
    fd_ = std::move(*fd);
    reader_.emplace(fd_.get());
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
  LineClient(const LineClient&) = delete;
  LineClient& operator=(const LineClient&) = delete;

  bool connected() const { return fd_.get() >= 0; }
  const std::string& error() const { return error_; }
  void Close() { fd_.Reset(); }

  // Sends `data` as is; false when the shim hung up.
  bool SendRaw(std::string_view data) { return control::SendAll(fd_.get(), data); }
  bool Send(const json& request) { return SendRaw(request.dump() + "\n"); }
  // shutdown(SHUT_WR): the shim sees the end of this client's requests.
  void ShutdownWrite() { ::shutdown(fd_.get(), SHUT_WR); }

  // The next line without its newline; nullopt at end of input, on an error or a timeout.
  std::optional<std::string> ReadLine() {
    if (!reader_) return std::nullopt;
    return reader_->Next();
  }
  // The next line parsed; a JSON null when there is none or it is not JSON.
  json ReadJson() {
    std::optional<std::string> line = ReadLine();
    if (!line) return nullptr;
    return json::parse(*line, nullptr, /*allow_exceptions=*/false);
  }
  // True when the shim closed the connection (no more lines before end of input). A peer that
  // closes with some of our bytes unread resets the connection (ECONNRESET): closed as well.
  bool Closed() { return !reader_ || reader_->Closed(); }

  // One request, one response line.
  json Call(const json& request) {
    if (!Send(request)) return nullptr;
    return ReadJson();
  }

  // An events request without follow: the events' `result`s up to (not including) the end line,
  // which goes to `end`.
  std::vector<json> Replay(const json& request, json& end) {
    std::vector<json> out;
    if (!Send(request)) return out;
    for (;;) {
      json line = ReadJson();
      if (!line.is_object() || !line.value("ok", false)) {
        end = line;
        return out;
      }
      if (line["result"].value("end", false)) {
        end = line["result"];
        return out;
      }
      out.push_back(line["result"]);
    }
  }

 private:
  UniqueFd fd_;
  std::optional<control::LineReader> reader_;
  std::string error_;
};

// The error code of a response, or "" when it is not an error.
std::string ErrorCode(const json& response) {
  if (!response.is_object() || response.value("ok", true)) return "";
  return response["error"].value("code", "");
}

std::string Readlink(const fs::path& p) {
  std::error_code ec;
  fs::path target = fs::read_symlink(p, ec);
  return ec ? "" : target.string();
}

bool PidExists(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// A container that runs until SIGTERM and appends a line to /ctl/<name>.usr1 on each SIGUSR1.
// It creates /ctl/<name>.up once its traps are set: before that, a signal to it (the init of its
// PID namespace) would be discarded.
std::string Trapping(const std::string& name) {
  return "trap 'echo usr1 >> /ctl/" + name + ".usr1' USR1; trap 'exit 0' TERM; touch /ctl/" + name +
         ".up; while :; do sleep 0.05; done";
}

const char kCtlMount[] = "{name: ctl, mountPath: /ctl}";

struct CtlResult {
  int status = -1;
  std::string out;
  std::string err;
};

class PodControlTest : public PodRunTest {
 protected:
  fs::path Socket() const { return state_ / "podshim.sock"; }

  // The usual pod of these tests: sidecar `proxy` and app `app`, both trapping SIGUSR1 and
  // carrying `env` (a token PodProcesses finds), both with the `ctl` hostPath volume at /ctl.
  // The pod's name is `base` made unique to this test binary (UniqueName).
  void WriteTwoContainerPod(const std::string& base, const std::string& policy = "Never",
                            int grace = 5, const std::string& app_script = "") {
    const std::string name = UniqueName(base);
    const std::string env = Field("env", "[{name: PODRUN_TEST, value: " + name + "-token}]");
    WriteManifest(
        name,
        Spec(policy, C("proxy", Trapping("proxy"), true, kCtlMount) + env,
             C("app", app_script.empty() ? Trapping("app") : app_script, false, kCtlMount) + env,
             grace, CtlVolume()));
    trapping_ = {"proxy"};
    if (app_script.empty()) trapping_.push_back("app");
  }

  // Spawns `podshim run`, waits until the socket accepts connections and every container in
  // `containers` has started. Returns the shim's pid (-1 after a recorded failure).
  pid_t StartPod(const std::vector<std::string>& containers = {"proxy", "app"}) {
    pid_t pid = Spawn();
    if (pid <= 0) return -1;
    bool listening = WaitUntil([&] { return LineClient(Socket(), 1s).connected(); }, 20s);
    EXPECT_TRUE(listening) << "no control socket at " << Socket() << "\n" << Dump();
    for (const std::string& c : containers) {
      EXPECT_TRUE(WaitForEventN("ContainerStarted", c, 0, 20s, pid)) << c << "\n" << Dump();
    }
    for (const std::string& c : trapping_) {
      EXPECT_TRUE(WaitUntil([&] { return fs::exists(CtlDir() / (c + ".up")); }, 20s))
          << c << " never set its traps\n"
          << Dump();
    }
    return pid;
  }

  // Asks the pod to stop over the socket and waits for the shim to exit; its exit status.
  int StopPod(pid_t pid) {
    LineClient c(Socket());
    json r = c.Call({{"command", "stop"}});
    EXPECT_TRUE(r.value("ok", false)) << r.dump();
    return WaitBounded(pid, 30s);
  }

  // The container status `name` from the socket's status answer.
  json LiveStatusOf(const std::string& name) {
    LineClient c(Socket());
    json r = c.Call({{"command", "status"}});
    if (!r.value("ok", false)) return nullptr;
    return ContainerStatusOf(r["result"], name);
  }

  // Runs `podshim ctl --socket <socket> ARGS...`; its exit status, stdout and stderr.
  CtlResult Ctl(const std::string& args, const fs::path& socket) {
    const fs::path out = tmp_ / "ctl.out", err = tmp_ / "ctl.err";
    std::string cmd = std::string(PODSHIM_BINARY) + " ctl --socket " + socket.string() + " " +
                      args + " >" + out.string() + " 2>" + err.string() + " </dev/null";
    int st = std::system(cmd.c_str());
    CtlResult r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = ReadText(out);
    r.err = ReadText(err);
    return r;
  }
  CtlResult Ctl(const std::string& args) { return Ctl(args, Socket()); }

  std::vector<std::string> trapping_;  // containers that signal with /ctl/<name>.up
};

TEST_F(PodControlTest, StatusAndEventsMatchWhatHappened) {
  WriteTwoContainerPod("pc-status");
  pid_t pid = StartPod();
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitForEventN("PodReady", "", 0, 20s, pid)) << Dump();
  std::this_thread::sleep_for(300ms);  // let the start's last events and status write settle

  LineClient c(Socket());
  ASSERT_TRUE(c.connected()) << c.error();
  json status = c.Call({{"id", 1}, {"command", "status"}});
  ASSERT_TRUE(status.value("ok", false)) << status.dump();
  EXPECT_EQ(status["id"], 1);
  const json& s = status["result"];
  EXPECT_EQ(s["name"], pod_name_);
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_EQ(s["ready"], true);
  EXPECT_EQ(s["terminating"], false);
  ASSERT_EQ(s["initContainerStatuses"].size(), 1u) << s.dump();
  ASSERT_EQ(s["containerStatuses"].size(), 1u) << s.dump();
  auto ev = Events();
  for (const char* name : {"proxy", "app"}) {
    json cs = ContainerStatusOf(s, name);
    ASSERT_TRUE(cs.is_object()) << name << s.dump();
    EXPECT_TRUE(cs["state"].contains("running")) << cs.dump();
    EXPECT_EQ(cs["restartCount"], 0) << name;
    int p = cs.value("pid", 0);
    EXPECT_TRUE(PidExists(p)) << name << " pid " << p;
    int started = Find(ev, "ContainerStarted", name);
    ASSERT_GE(started, 0) << name << Dump();
    EXPECT_EQ(ev[started]["pid"], p) << name;
    EXPECT_EQ(Count(ev, "ContainerStarted", name), 1) << name;
  }
  // status.json says the same as the socket.
  EXPECT_EQ(Status(), s);

  // Replay from 1 is events.jsonl, numbered from 1; the connection stays usable.
  json end;
  std::vector<json> all = c.Replay({{"id", "e"}, {"command", "events"}, {"fromSeq", 1}}, end);
  ev = Events();
  ASSERT_EQ(all.size(), ev.size()) << end.dump();
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i]["seq"], i + 1);
    EXPECT_EQ(all[i]["event"], ev[i]) << i;
  }
  EXPECT_EQ(end["nextSeq"], ev.size() + 1);
  EXPECT_EQ(end["podFinished"], false);
  // fromSeq N skips the first N-1; 0 means 1.
  const size_t n = 3;
  std::vector<json> tail = c.Replay({{"command", "events"}, {"fromSeq", n}}, end);
  ASSERT_EQ(tail.size(), ev.size() - (n - 1));
  for (size_t i = 0; i < tail.size(); ++i) {
    EXPECT_EQ(tail[i]["seq"], n + i);
    EXPECT_EQ(tail[i]["event"], ev[n - 1 + i]);
  }
  EXPECT_EQ(c.Replay({{"command", "events"}, {"fromSeq", 0}}, end).size(), ev.size());
  // Past the end: nothing but the end line.
  EXPECT_TRUE(c.Replay({{"command", "events"}, {"fromSeq", ev.size() + 5}}, end).empty());
  EXPECT_TRUE(end.value("end", false)) << end.dump();

  // follow: everything new is streamed until PodFinished, then the end line and end of input.
  LineClient follower(Socket());
  ASSERT_TRUE(follower.Send(
      {{"id", "f"}, {"command", "events"}, {"fromSeq", ev.size() + 1}, {"follow", true}}));
  std::this_thread::sleep_for(200ms);  // the follower is waiting before anything new happens
  json stop = c.Call({{"command", "stop"}});
  ASSERT_TRUE(stop.value("ok", false)) << stop.dump();
  std::vector<json> streamed;
  json last;
  for (;;) {
    json line = follower.ReadJson();
    ASSERT_TRUE(line.is_object()) << "stream ended without its end line\n" << Dump();
    ASSERT_TRUE(line.value("ok", false)) << line.dump();
    EXPECT_EQ(line["id"], "f");
    if (line["result"].value("end", false)) {
      last = line["result"];
      break;
    }
    streamed.push_back(line["result"]);
  }
  EXPECT_TRUE(follower.Closed()) << "the shim keeps a finished follower open";
  EXPECT_EQ(last["podFinished"], true);
  // The stream is the tail of events.jsonl, ending with PodFinished; nextSeq follows it.
  const size_t before = ev.size();
  ev = Events();
  ASSERT_EQ(streamed.size(), ev.size() - before) << Dump();
  for (size_t i = 0; i < streamed.size(); ++i) {
    EXPECT_EQ(streamed[i]["seq"], before + 1 + i);
    EXPECT_EQ(streamed[i]["event"], ev[before + i]);
  }
  ASSERT_FALSE(streamed.empty());
  EXPECT_EQ(streamed.front()["event"]["type"], "TerminationStarted");
  EXPECT_EQ(streamed.back()["event"]["type"], "PodFinished");
  EXPECT_EQ(last["nextSeq"], ev.size() + 1);
  // Under Never the app's exit 0 on SIGTERM makes the pod Succeeded: `run` exits 0.
  EXPECT_EQ(WaitBounded(pid, 30s), 0) << Dump();
  ExpectNothingLeft();
}

TEST_F(PodControlTest, StopRunsTheOrderedTerminationAndRemovesTheSocket) {
  // The app takes a moment to exit on SIGTERM, so a second stop finds the pod terminating.
  WriteTwoContainerPod("pc-stop", "Never", 5,
                       "trap 'sleep 1; exit 0' TERM; while :; do sleep 0.05; done");
  pid_t pid = StartPod();
  ASSERT_GT(pid, 0);
  struct stat st {};
  ASSERT_EQ(::stat(Socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  LineClient c(Socket());
  // A longer grace period than the pod's is ignored: the pod's 5 s are in force.
  json r = c.Call({{"id", 9}, {"command", "stop"}, {"graceSeconds", 30}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["id"], 9);
  EXPECT_EQ(r["result"]["gracePeriodSeconds"], 5);
  EXPECT_EQ(r["result"]["alreadyTerminating"], false);
  r = c.Call({{"command", "stop"}, {"graceSeconds", 30}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["result"]["alreadyTerminating"], true);
  EXPECT_LE(r["result"]["gracePeriodSeconds"].get<int>(), 5);
  EXPECT_EQ(WaitBounded(pid, 30s), 0) << Dump();
  EXPECT_FALSE(fs::exists(Socket())) << "the socket file outlives the shim";

  auto ev = Events();
  int term = Find(ev, "TerminationStarted");
  ASSERT_GE(term, 0) << Dump();
  EXPECT_EQ(ev[term]["reason"], "Request");
  EXPECT_EQ(ev[term]["gracePeriodSeconds"], 5);
  // The app first; the sidecar only after the app has exited.
  int app_sig = FindWith(ev, "SignalSent", "app", "signal", "SIGTERM");
  int app_exit = Find(ev, "ContainerExited", "app");
  int proxy_sig = FindWith(ev, "SignalSent", "proxy", "signal", "SIGTERM");
  ASSERT_GE(app_sig, 0) << Dump();
  ASSERT_GE(app_exit, 0) << Dump();
  ASSERT_GE(proxy_sig, 0) << Dump();
  EXPECT_LT(term, app_sig);
  EXPECT_LT(app_sig, app_exit);
  EXPECT_LT(app_exit, proxy_sig);
  EXPECT_EQ(ev[app_exit]["exitCode"], 0);
  EXPECT_EQ(CountWith(ev, "SignalSent", "", "signal", "SIGKILL"), 0) << Dump();
  EXPECT_EQ(ev.back()["type"], "PodFinished");
  EXPECT_EQ(ev.back()["phase"], "Terminated");

  // `ctl status` now says the shim is gone and shows the last known state from the state dir.
  CtlResult gone = Ctl("--json status");
  EXPECT_EQ(gone.status, 1) << gone.err;
  json j = json::parse(gone.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_EQ(ErrorCode(j), "unavailable") << gone.out;
  EXPECT_EQ(j["lastKnown"]["status"], Status()) << gone.out;
  EXPECT_EQ(j["lastKnown"]["exitRecords"]["app"], json({{"status", 0}, {"oom", false}}))
      << gone.out;
  EXPECT_TRUE(j["lastKnown"]["exitRecords"]["proxy"].is_object()) << gone.out;
  ExpectNothingLeft();
}

TEST_F(PodControlTest, StopWithGraceZeroKillsNow) {
  // The app ignores SIGTERM; the pod's grace period is long.
  WriteTwoContainerPod("pc-stop-now", "Never", 60, "trap '' TERM; while :; do sleep 0.05; done");
  pid_t pid = StartPod();
  ASSERT_GT(pid, 0);
  auto t0 = std::chrono::steady_clock::now();
  LineClient c(Socket());
  json r = c.Call({{"command", "stop"}, {"graceSeconds", 0}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["result"]["gracePeriodSeconds"], 0);
  EXPECT_EQ(WaitBounded(pid, 30s), 1) << Dump();  // the app's 137 fails the pod
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  auto ev = Events();
  int term = Find(ev, "TerminationStarted");
  ASSERT_GE(term, 0) << Dump();
  EXPECT_EQ(ev[term]["reason"], "Request");
  EXPECT_EQ(ev[term]["gracePeriodSeconds"], 0);
  EXPECT_GE(FindWith(ev, "SignalSent", "app", "signal", "SIGKILL"), 0) << Dump();
  int exited = Find(ev, "ContainerExited", "app");
  ASSERT_GE(exited, 0) << Dump();
  EXPECT_EQ(ev[exited]["exitCode"], 137);
  EXPECT_EQ(ev[exited]["signal"], "SIGKILL");
  EXPECT_FALSE(fs::exists(Socket()));
  ExpectNothingLeft();
}

TEST_F(PodControlTest, KillSignalsOneContainerOnly) {
  WriteTwoContainerPod("pc-kill");
  pid_t pid = StartPod();
  ASSERT_GT(pid, 0);
  const int app_pid = LiveStatusOf("app").value("pid", 0);
  const int proxy_pid = LiveStatusOf("proxy").value("pid", 0);
  ASSERT_TRUE(PidExists(app_pid));
  ASSERT_TRUE(PidExists(proxy_pid));

  LineClient c(Socket());
  json r = c.Call({{"id", 1}, {"command", "kill"}, {"container", "app"}, {"signal", "usr1"}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["result"], json({{"container", "app"}, {"signal", "SIGUSR1"}}));
  const fs::path app_mark = CtlDir() / "app.usr1", proxy_mark = CtlDir() / "proxy.usr1";
  EXPECT_TRUE(WaitUntil([&] { return fs::exists(app_mark); }, 10s)) << Dump();
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(fs::exists(proxy_mark)) << "SIGUSR1 for app reached proxy";
  EXPECT_EQ(ReadText(app_mark), "usr1\n");
  EXPECT_GE(FindWith(Events(), "SignalSent", "app", "signal", "SIGUSR1"), 0) << Dump();
  EXPECT_EQ(Count(Events(), "SignalSent", "proxy"), 0) << Dump();

  // A signal number works too.
  r = c.Call({{"command", "kill"}, {"container", "proxy"}, {"signal", SIGUSR1}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["result"]["signal"], "SIGUSR1");
  EXPECT_TRUE(WaitUntil([&] { return fs::exists(proxy_mark); }, 10s)) << Dump();
  EXPECT_EQ(ReadText(app_mark), "usr1\n");

  // SIGKILL: the sidecar exits 137 and is restarted; the app keeps running with its pid.
  r = c.Call({{"command", "kill"}, {"container", "proxy"}, {"signal", "KILL"}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["result"]["signal"], "SIGKILL");
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "proxy", 1, 20s, pid)) << Dump();
  auto ev = Events();
  int exited = Find(ev, "ContainerExited", "proxy");
  ASSERT_GE(exited, 0) << Dump();
  EXPECT_EQ(ev[exited]["exitCode"], 137);
  EXPECT_EQ(ev[exited]["signal"], "SIGKILL");
  EXPECT_EQ(ev[Find(ev, "ContainerStarted", "proxy", 1)]["restartCount"], 1);
  EXPECT_EQ(Count(ev, "ContainerExited", "app"), 0) << Dump();
  json app = LiveStatusOf("app");
  EXPECT_EQ(app["pid"], app_pid);
  EXPECT_EQ(app["restartCount"], 0);
  EXPECT_TRUE(PidExists(app_pid));
  json proxy = LiveStatusOf("proxy");
  EXPECT_EQ(proxy["restartCount"], 1);
  EXPECT_NE(proxy["pid"], proxy_pid);

  // An unknown container is an error; the connection and the shim go on.
  r = c.Call({{"id", 2}, {"command", "kill"}, {"container", "nope"}, {"signal", "TERM"}});
  EXPECT_EQ(ErrorCode(r), "unknown_container") << r.dump();
  EXPECT_EQ(r["id"], 2);
  EXPECT_NE(r["error"].value("message", "").find("nope"), std::string::npos) << r.dump();
  r = c.Call({{"command", "kill"}, {"container", "app"}, {"signal", "SIGNOPE"}});
  EXPECT_EQ(ErrorCode(r), "bad_request") << r.dump();
  r = c.Call({{"command", "status"}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["result"]["phase"], "Running");
  EXPECT_EQ(StopPod(pid), 0) << Dump();
  ExpectNothingLeft();
}

TEST_F(PodControlTest, RestartStopsAndStartsOneContainerAgain) {
  WriteTwoContainerPod("pc-restart");
  pid_t pid = StartPod();
  ASSERT_GT(pid, 0);
  const int app_pid = LiveStatusOf("app").value("pid", 0);
  const int proxy_pid = LiveStatusOf("proxy").value("pid", 0);
  ASSERT_TRUE(PidExists(app_pid));

  LineClient c(Socket());
  json r = c.Call({{"id", "r"}, {"command", "restart"}, {"container", "app"}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["result"], json({{"container", "app"}}));
  EXPECT_EQ(r["id"], "r");
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "app", 1, 20s, pid)) << Dump();
  auto ev = Events();
  int sig = FindWith(ev, "SignalSent", "app", "signal", "SIGTERM");
  int exited = Find(ev, "ContainerExited", "app");
  int again = Find(ev, "ContainerStarted", "app", 1);
  ASSERT_GE(sig, 0) << Dump();
  ASSERT_GE(exited, 0) << Dump();
  EXPECT_LT(sig, exited);
  EXPECT_LT(exited, again);
  EXPECT_EQ(ev[again]["restartCount"], 1);
  EXPECT_EQ(Find(ev, "TerminationStarted"), -1) << "a restart is not a pod stop";
  EXPECT_EQ(Count(ev, "ContainerExited", "proxy"), 0);
  EXPECT_EQ(Count(ev, "SignalSent", "proxy"), 0);

  json app = LiveStatusOf("app");
  EXPECT_TRUE(app["state"].contains("running")) << app.dump();
  EXPECT_EQ(app["restartCount"], 1);
  EXPECT_NE(app["pid"], app_pid);
  EXPECT_EQ(app["pid"], ev[again]["pid"]);
  EXPECT_TRUE(PidExists(app.value("pid", 0)));
  json proxy = LiveStatusOf("proxy");
  EXPECT_EQ(proxy["pid"], proxy_pid);
  EXPECT_EQ(proxy["restartCount"], 0);

  r = c.Call({{"command", "restart"}, {"container", "nope"}});
  EXPECT_EQ(ErrorCode(r), "unknown_container") << r.dump();
  r = c.Call({{"command", "restart"}});
  EXPECT_EQ(ErrorCode(r), "bad_request") << r.dump();
  EXPECT_EQ(StopPod(pid), 0) << Dump();
  ExpectNothingLeft();
}

TEST_F(PodControlTest, ExecRunsInsideTheContainer) {
  WriteTwoContainerPod("pc-exec");
  pid_t pid = StartPod();
  ASSERT_GT(pid, 0);
  const int app_pid = LiveStatusOf("app").value("pid", 0);
  ASSERT_TRUE(PidExists(app_pid));
  LineClient c(Socket());
  auto exec = [&](const json& argv, std::optional<int> timeout = std::nullopt,
                  const std::string& container = "app") {
    json req = {{"command", "exec"}, {"container", container}, {"argv", argv}};
    if (timeout) req["timeoutSeconds"] = *timeout;
    return c.Call(req);
  };

  json r = exec({"hostname"});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["result"]["stdout"], pod_name_ + "\n");
  EXPECT_EQ(r["result"]["exitCode"], 0);
  // The same pid and mount namespaces as the container's own process.
  for (const char* ns : {"pid", "mnt"}) {
    r = exec({"readlink", std::string("/proc/self/ns/") + ns});
    ASSERT_TRUE(r.value("ok", false)) << r.dump();
    const std::string want = Readlink(fs::path("/proc") / std::to_string(app_pid) / "ns" / ns);
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(r["result"]["stdout"], want + "\n") << ns;
    EXPECT_NE(want, Readlink(fs::path("/proc/self/ns") / ns)) << ns << " is the host's";
  }
  // Output, errors and the exit code come back.
  r = c.Call({{"id", 7},
              {"command", "exec"},
              {"container", "app"},
              {"argv", {"/bin/sh", "-c", "echo hi; echo oops >&2; exit 3"}},
              {"timeoutSeconds", 10}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["id"], 7);
  EXPECT_EQ(r["result"],
            json({{"exitCode", 3}, {"stdout", "hi\n"}, {"stderr", "oops\n"}, {"timedOut", false}}));
  // Past its timeout the command is killed: seen running in the pod, then gone.
  const std::string token = pod_name_ + "-token";
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Send({{"command", "exec"},
                      {"container", "app"},
                      {"argv", {"sleep", "100"}},
                      {"timeoutSeconds", 1}}));
  EXPECT_TRUE(WaitUntil([&] { return !PodProcesses("sleep 100", token).empty(); }, 900ms));
  r = c.ReadJson();
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["result"]["timedOut"], true);
  EXPECT_EQ(r["result"]["exitCode"], 137);
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 10s);
  EXPECT_TRUE(PodProcesses("sleep 100", token).empty());
  // Two requests pipelined on one connection are answered in order.
  ASSERT_TRUE(c.SendRaw(
      json({{"id", "a"}, {"command", "exec"}, {"container", "proxy"}, {"argv", {"echo", "a"}}})
          .dump() +
      "\n" +
      json({{"id", "b"}, {"command", "exec"}, {"container", "app"}, {"argv", {"echo", "b"}}})
          .dump() +
      "\n"));
  json a = c.ReadJson(), b = c.ReadJson();
  EXPECT_EQ(a["id"], "a");
  EXPECT_EQ(a["result"]["stdout"], "a\n");
  EXPECT_EQ(b["id"], "b");
  EXPECT_EQ(b["result"]["stdout"], "b\n");
  // Errors.
  r = exec({"true"}, std::nullopt, "nope");
  EXPECT_EQ(ErrorCode(r), "unknown_container") << r.dump();
  r = exec({"ls", 1});
  EXPECT_EQ(ErrorCode(r), "bad_request") << r.dump();
  EXPECT_NE(r["error"].value("message", "").find("argv"), std::string::npos) << r.dump();
  r = exec({"true"}, 0);
  EXPECT_EQ(ErrorCode(r), "bad_request") << r.dump();

  // Through `podshim ctl`: the command's output on ctl's stdout/stderr, its exit status as ctl's.
  CtlResult ctl = Ctl("exec app -- echo hi");
  EXPECT_EQ(ctl.status, 0) << ctl.err;
  EXPECT_EQ(ctl.out, "hi\n");
  ctl = Ctl("exec app -- sh -c 'echo out; echo err >&2; exit 5'");
  EXPECT_EQ(ctl.status, 5) << ctl.err;
  EXPECT_EQ(ctl.out, "out\n");
  EXPECT_EQ(ctl.err, "err\n");
  ctl = Ctl("exec nope -- true");
  EXPECT_EQ(ctl.status, 1);
  EXPECT_NE(ctl.err.find("unknown_container"), std::string::npos) << ctl.err;
  ctl = Ctl("exec app");
  EXPECT_EQ(ctl.status, 2) << ctl.err;

  EXPECT_EQ(Count(Events(), "ContainerExited", "app"), 0) << Dump();
  EXPECT_EQ(StopPod(pid), 0) << Dump();
  ExpectNothingLeft();
}

TEST_F(PodControlTest, ManyClientsGarbageAndOversizedLinesLeaveThePodAlone) {
  WriteTwoContainerPod("pc-robust");
  pid_t pid = StartPod();
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitForEventN("PodReady", "", 0, 20s, pid)) << Dump();
  const int app_pid = LiveStatusOf("app").value("pid", 0);
  const int proxy_pid = LiveStatusOf("proxy").value("pid", 0);
  const size_t events_before = Events().size();

  constexpr int kClients = 20, kRounds = 50;
  std::atomic<int> answered{0}, failed{0};
  std::atomic<bool> garbage_ok{false}, too_large_ok{false}, follower_ok{false};
  std::string too_large_got;  // what the too_large client got when it failed
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      LineClient c(Socket());
      for (int k = 0; k < kRounds; ++k) {
        json r = c.Call({{"id", i * 1000 + k}, {"command", "status"}});
        bool ok =
            r.value("ok", false) && r["id"] == i * 1000 + k && r["result"]["phase"] == "Running";
        ++(ok ? answered : failed);
      }
    });
  }
  threads.emplace_back([&] {  // garbage, then a good request on the same connection
    LineClient c(Socket());
    json r = c.SendRaw("this is not json\n") ? c.ReadJson() : json();
    json again = c.Call({{"command", "status"}});
    garbage_ok = ErrorCode(r) == "bad_request" && again.value("ok", false);
  });
  threads.emplace_back([&] {  // 2 MiB without a newline: too_large, then closed
    LineClient c(Socket());
    (void)c.SendRaw(std::string(2 << 20, 'x'));  // the shim may hang up before all is sent
    json r = c.ReadJson();
    too_large_ok = ErrorCode(r) == "too_large" && c.Closed();
    if (!too_large_ok) too_large_got = r.dump() + " " + std::strerror(errno);
  });
  threads.emplace_back([&] {  // follows, reads a little, goes away mid-stream
    LineClient c(Socket());
    c.Send({{"command", "events"}, {"fromSeq", 1}, {"follow", true}});
    json first = c.ReadJson(), second = c.ReadJson();
    follower_ok = first.value("ok", false) && second.value("ok", false);
  });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(answered, kClients * kRounds);
  EXPECT_EQ(failed, 0);
  EXPECT_TRUE(garbage_ok);
  EXPECT_TRUE(too_large_ok) << too_large_got;
  EXPECT_TRUE(follower_ok);

  // A last request without a newline is answered once the client shuts its write side.
  {
    LineClient c(Socket());
    ASSERT_TRUE(c.SendRaw(R"({"id":"eof","command":"status"})"));
    c.ShutdownWrite();
    json r = c.ReadJson();
    EXPECT_TRUE(r.value("ok", false)) << r.dump();
    EXPECT_EQ(r["id"], "eof");
    EXPECT_TRUE(c.Closed());
  }

  // Up to 128 clients at once; one more is served, and the oldest idle one closed for it.
  {
    std::vector<std::unique_ptr<LineClient>> held;
    for (int i = 0; i < 128; ++i) {
      held.push_back(std::make_unique<LineClient>(Socket()));
      json r = held.back()->Call({{"command", "status"}});
      ASSERT_TRUE(r.value("ok", false)) << "client " << i << ": " << r.dump();
    }
    LineClient extra(Socket());
    json r = extra.Call({{"command", "status"}});
    EXPECT_TRUE(r.value("ok", false)) << r.dump();
    EXPECT_TRUE(held.front()->Closed());
    EXPECT_TRUE(held.back()->Call({{"command", "status"}}).value("ok", false));
  }

  // The pod did not notice.
  LineClient c(Socket());
  json r = c.Call({{"command", "status"}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["result"]["phase"], "Running");
  for (const auto& [name, p] : {std::pair{"app", app_pid}, std::pair{"proxy", proxy_pid}}) {
    json cs = ContainerStatusOf(r["result"], name);
    EXPECT_EQ(cs["pid"], p) << name;
    EXPECT_EQ(cs["restartCount"], 0) << name;
    EXPECT_TRUE(cs["state"].contains("running")) << name;
  }
  EXPECT_EQ(Events().size(), events_before) << Dump();
  EXPECT_EQ(StopPod(pid), 0) << Dump();
  ExpectNothingLeft();
}

TEST_F(PodControlTest, StatsHasEveryContainerAndThePodCounters) {
  WriteTwoContainerPod("pc-stats");
  pid_t pid = StartPod();
  ASSERT_GT(pid, 0);
  LineClient c(Socket());
  json r = c.Call({{"command", "restart"}, {"container", "app"}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "app", 1, 20s, pid)) << Dump();

  r = c.Call({{"id", "s"}, {"command", "stats"}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["id"], "s");
  const json& res = r["result"];
  // A counter is a number, or null where this host has no controller for the pod cgroup.
  auto expect_counters = [](const json& o, const std::string& what) {
    ASSERT_TRUE(o.is_object()) << what;
    for (const char* k : {"cpuUsageUsec", "memoryCurrent", "pidsCurrent", "oomKills"}) {
      ASSERT_TRUE(o.contains(k)) << what << " has no " << k << ": " << o.dump();
      EXPECT_TRUE(o[k].is_null() || o[k].is_number_unsigned()) << what << "." << k << o.dump();
    }
  };
  expect_counters(res["pod"], "pod");
  ASSERT_TRUE(res["containers"].is_array()) << res.dump();
  ASSERT_EQ(res["containers"].size(), 2u) << res.dump();
  std::map<std::string, json> by_name;
  for (const json& ct : res["containers"]) {
    expect_counters(ct, ct.value("name", "?"));
    by_name[ct.value("name", "")] = ct;
  }
  ASSERT_TRUE(by_name.contains("proxy") && by_name.contains("app")) << res.dump();
  EXPECT_EQ(by_name["proxy"]["role"], "sidecar");
  EXPECT_EQ(by_name["proxy"]["restartCount"], 0);
  EXPECT_EQ(by_name["app"]["role"], "app");
  EXPECT_EQ(by_name["app"]["restartCount"], 1);
  // `ctl stats` shows the same containers as a table.
  CtlResult ctl = Ctl("stats");
  EXPECT_EQ(ctl.status, 0) << ctl.err;
  EXPECT_NE(ctl.out.find("proxy"), std::string::npos) << ctl.out;
  EXPECT_NE(ctl.out.find("app"), std::string::npos) << ctl.out;
  EXPECT_EQ(StopPod(pid), 0) << Dump();
  ExpectNothingLeft();
}

// Built with -fsanitize=address (the sanitize tier builds the shim and this test alike)?
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

TEST_F(PodControlTest, AClientThatDoesNotReadStallsNeitherThePodNorOtherClients) {
  WriteTwoContainerPod("pc-slow");
  // Under ASan, freed blocks sit in a quarantine of up to 256 MiB (to catch use after free), so
  // the shim's RssAnon would grow with every request it ever answered, held or not. This shim
  // gets no quarantine: the growth measured below is then what it holds. (Ignored by a build
  // without ASan.)
  const char* asan_before = std::getenv("ASAN_OPTIONS");
  const std::string asan_saved = asan_before != nullptr ? asan_before : "";
  const std::string asan_options = (asan_saved.empty() ? "" : asan_saved + ":") +
                                   "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
  ::setenv("ASAN_OPTIONS", asan_options.c_str(), 1);
  pid_t pid = StartPod();
  if (asan_before != nullptr) {
    ::setenv("ASAN_OPTIONS", asan_saved.c_str(), 1);
  } else {
    ::unsetenv("ASAN_OPTIONS");
  }
  ASSERT_GT(pid, 0);
  auto anon_kb = [&] {
    std::istringstream in(ReadText(fs::path("/proc") / std::to_string(pid) / "status"));
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("RssAnon:")) return std::atol(line.c_str() + 8);
    }
    return -1L;
  };
  const long anon_before = anon_kb();

  // Pipelined status requests, never reading an answer, until the shim stops taking them and
  // the socket buffers are full (a send then times out after 2 s).
  LineClient slow(Socket(), 2s);
  std::string batch;
  for (int i = 0; i < 1000; ++i)
    batch += R"({"command":"status"})"
             "\n";
  int batches = 0;
  while (batches < 200 && slow.SendRaw(batch)) ++batches;
  EXPECT_LT(batches, 200) << "the shim took 200,000 requests without their answers being read";
  EXPECT_GT(batches, 0);

  // Meanwhile everything else is served: a shim stalled on the slow client would never answer
  // (the call times out after 5 s). Not within a fixed 1 s: the sanitized shim took 2.2 s with
  // the sanitizer build and the fuzz tier beside it.
  auto t0 = std::chrono::steady_clock::now();
  LineClient other(Socket(), 5s);
  json r = other.Call({{"command", "status"}});
  EXPECT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
  r = other.Call({{"command", "exec"}, {"container", "app"}, {"argv", {"echo", "ok"}}});
  EXPECT_EQ(r["result"]["stdout"], "ok\n") << r.dump();
  // What the shim holds for the slow client is bounded (1 MiB of requests, a few MiB of
  // answers), not everything it was sent: a growth against the baseline, not an absolute size.
  // ASan adds redzones around every block and shadow memory (an eighth of what is touched);
  // twice the bound allows for that.
  const long bound_kb = (kAddressSanitizer ? 2 : 1) * 16 * 1024;
  EXPECT_LT(anon_kb() - anon_before, bound_kb) << "RssAnon before: " << anon_before << " kB";

  // The slow client still gets its answers, in order, once it reads.
  for (int i = 0; i < 100; ++i) {
    json a = slow.ReadJson();
    ASSERT_TRUE(a.value("ok", false)) << i << ": " << a.dump();
    ASSERT_EQ(a["result"]["name"], pod_name_);
  }
  slow.Close();
  r = other.Call({{"command", "status"}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  for (const char* name : {"proxy", "app"}) {
    EXPECT_EQ(ContainerStatusOf(r["result"], name)["restartCount"], 0) << name;
  }
  EXPECT_EQ(StopPod(pid), 0) << Dump();
  ExpectNothingLeft();
}

TEST_F(PodControlTest, AContainerThatIsNotRunningCannotBeSignalledOrExecedInto) {
  const std::string name = UniqueName("pc-init");
  WriteManifest(name, Spec("Never", C("init", "exit 0"),
                           C("app", Trapping("app"), false, kCtlMount), 5, CtlVolume()));
  trapping_ = {"app"};
  pid_t pid = StartPod({"init", "app"});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitForEventN("ContainerExited", "init", 0, 20s, pid)) << Dump();
  LineClient c(Socket());
  json r = c.Call({{"command", "kill"}, {"container", "init"}, {"signal", "TERM"}});
  EXPECT_EQ(ErrorCode(r), "unavailable") << r.dump();
  EXPECT_NE(r["error"].value("message", "").find("not running"), std::string::npos) << r.dump();
  r = c.Call({{"command", "exec"}, {"container", "init"}, {"argv", {"true"}}});
  EXPECT_EQ(ErrorCode(r), "unavailable") << r.dump();
  r = c.Call({{"command", "restart"}, {"container", "init"}});
  EXPECT_EQ(ErrorCode(r), "unavailable") << r.dump();
  // The init is still reported, as terminated with its exit code.
  r = c.Call({{"command", "status"}});
  json init = ContainerStatusOf(r["result"], "init");
  EXPECT_EQ(init["state"]["terminated"]["exitCode"], 0) << init.dump();
  r = c.Call({{"command", "stats"}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  ASSERT_EQ(r["result"]["containers"].size(), 2u) << r.dump();
  EXPECT_EQ(r["result"]["containers"][0]["name"], "init");
  EXPECT_EQ(r["result"]["containers"][0]["role"], "init");
  EXPECT_EQ(Count(Events(), "ContainerStarted", "init"), 1);
  EXPECT_EQ(StopPod(pid), 0) << Dump();
  ExpectNothingLeft();
}

// `podshim ctl` needs no pod for this: only a socket path nobody listens on.
TEST(PodControlCtlTest, MissingOrDeadSocketIsAClearErrorAndExitOne) {
  std::string tmpl = (fs::temp_directory_path() / "podshim-ctl-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  auto ctl = [&](const fs::path& socket, const std::string& args) {
    std::string cmd = std::string(PODSHIM_BINARY) + " ctl --socket " + socket.string() + " " +
                      args + " >" + (dir / "out").string() + " 2>" + (dir / "err").string();
    int st = std::system(cmd.c_str());
    return std::pair{WIFEXITED(st) ? WEXITSTATUS(st) : -1, ReadText(dir / "err")};
  };
  const fs::path missing = dir / "podshim.sock";
  for (const char* cmd : {"stats", "stop", "exec app -- true", "status"}) {
    auto [status, err] = ctl(missing, cmd);
    EXPECT_EQ(status, 1) << cmd;
    EXPECT_NE(
        err.find("cannot reach the shim at " + missing.string() + ": no such file or directory"),
        std::string::npos)
        << cmd << ": " << err;
  }
  // A socket file whose listener is gone: connection refused.
  const fs::path dead = dir / "dead.sock";
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, dead.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);
  }
  auto [status, err] = ctl(dead, "stats");
  EXPECT_EQ(status, 1);
  EXPECT_NE(err.find("cannot reach the shim at " + dead.string() + ": connection refused"),
            std::string::npos)
      << err;
  fs::remove_all(dir);
}

}  // namespace
