// `podshim run` end to end on a busybox bundle (scripts/make-bundle.sh): container ordering,
// sidecar restarts, Job completion with sidecars stopped in reverse order, init failure, the
// shim's own SIGTERM, CRI logs, bad input, and that nothing of the pod is left afterwards.
// Every assertion about order reads <state-dir>/events.jsonl.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
namespace fs = std::filesystem;
using json = nlohmann::json;

TEST_F(PodRunTest, InitsRunOneByOneThenAppsAndLogsAreCriLines) {
  WriteManifest("order", Spec("Never",
                              C("first", "sleep 0.2; echo first > /shared/first") +
                                  C("second", "test -f /shared/first && sleep 0.1"),
                              C("app", "echo hello; echo oops >&2; hostname; exit 0")));
  ASSERT_EQ(Run(), 0) << Dump();
  auto ev = Events();
  ASSERT_GE(Find(ev, "PodStarted"), 0) << Dump();
  EXPECT_LT(Find(ev, "PodStarted"), Find(ev, "ContainerStarted", "first"));
  EXPECT_LT(Find(ev, "ContainerExited", "first"), Find(ev, "ContainerStarted", "second"));
  EXPECT_LT(Find(ev, "ContainerExited", "second"), Find(ev, "ContainerStarted", "app"));
  int fin = Find(ev, "PodFinished");
  ASSERT_GE(fin, 0) << Dump();
  EXPECT_EQ(ev[fin]["phase"], "Succeeded");
  EXPECT_EQ(ev[Find(ev, "ContainerStarted", "app")]["role"], "app");
  EXPECT_EQ(ev[Find(ev, "ContainerExited", "second")]["exitCode"], 0);

  std::string log = ReadText(state_ / "logs/app/0.log");
  std::regex line(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) F (.*)$)");
  std::istringstream in(log);
  std::vector<std::string> out, err;
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, line)) << l;
    (m[1] == "stdout" ? out : err).push_back(m[2]);
  }
  EXPECT_EQ(out, (std::vector<std::string>{"hello", "order"}));  // hostname = pod name
  EXPECT_EQ(err, (std::vector<std::string>{"oops"}));
  EXPECT_EQ(ReadText(state_ / "containers/app/exit"), "0\n");
  json status = json::parse(ReadText(state_ / "status.json"));
  EXPECT_EQ(status["phase"], "Succeeded");
  ExpectNothingLeft();
}

TEST_F(PodRunTest, SidecarStartsBeforeNextInitOverlapsItAndRestartsUnderNever) {
  WriteManifest("sidecar",
                Spec("Never", C("side", "sleep 0.3; exit 1", true) + C("init2", "sleep 0.6"),
                     C("app", "sleep 1")));
  ASSERT_EQ(Run(), 0) << Dump();
  auto ev = Events();
  int side0 = Find(ev, "ContainerStarted", "side");
  int init2 = Find(ev, "ContainerStarted", "init2");
  ASSERT_GE(side0, 0) << Dump();
  EXPECT_LT(side0, init2);
  // The sidecar still ran when init2 started: its first exit comes later.
  EXPECT_LT(init2, Find(ev, "ContainerExited", "side"));
  EXPECT_LT(Find(ev, "ContainerExited", "init2"), Find(ev, "ContainerStarted", "app"));
  // Restarted although the pod's restartPolicy is Never.
  int side1 = Find(ev, "ContainerStarted", "side", 1);
  ASSERT_GE(side1, 0) << Dump();
  EXPECT_EQ(ev[side1]["restartCount"], 1);
  EXPECT_GE(Find(ev, "ContainerBackOff", "side"), 0);
  EXPECT_EQ(ev[Find(ev, "PodFinished")]["phase"], "Succeeded");  // sidecar exits do not count
  EXPECT_TRUE(fs::exists(state_ / "logs/side/1.log"));
  ExpectNothingLeft();
}

TEST_F(PodRunTest, JobWithThreeSidecarsSucceedsAndStopsThemInReverseOrder) {
  WriteManifest(
      "job", Spec("Never",
                  C("s1", kUntilTerm, true) + C("s2", kUntilTerm, true) + C("s3", kUntilTerm, true),
                  C("app", "sleep 0.3")));
  ASSERT_EQ(Run(), 0) << Dump();
  auto ev = Events();
  int app_exit = Find(ev, "ContainerExited", "app");
  int t3 = Find(ev, "SignalSent", "s3"), t2 = Find(ev, "SignalSent", "s2"),
      t1 = Find(ev, "SignalSent", "s1");
  ASSERT_GE(t1, 0) << Dump();
  EXPECT_EQ(ev[t3]["signal"], "SIGTERM");
  EXPECT_LT(app_exit, t3);
  EXPECT_LT(t3, Find(ev, "ContainerExited", "s3"));
  EXPECT_LT(Find(ev, "ContainerExited", "s3"), t2);
  EXPECT_LT(Find(ev, "ContainerExited", "s2"), t1);
  for (const char* s : {"s1", "s2", "s3"}) {
    EXPECT_EQ(Count(ev, "ContainerStarted", s), 1) << s;  // never restarted while stopping
  }
  EXPECT_EQ(ev[Find(ev, "PodFinished")]["phase"], "Succeeded");
  ExpectNothingLeft();
}

TEST_F(PodRunTest, FailingInitUnderNeverFailsThePodWithoutStartingApps) {
  WriteManifest("initfail", Spec("Never", C("init", "exit 3"), C("app", "true")));
  ASSERT_EQ(Run(), 1) << Dump();
  auto ev = Events();
  EXPECT_EQ(ev[Find(ev, "ContainerExited", "init")]["exitCode"], 3);
  EXPECT_EQ(ev[Find(ev, "ContainerExited", "init")]["reason"], "Error");
  EXPECT_EQ(Find(ev, "ContainerStarted", "app"), -1);
  EXPECT_EQ(ev[Find(ev, "PodFinished")]["phase"], "Failed");
  EXPECT_EQ(ReadText(state_ / "containers/init/exit"), "3\n");
  ExpectNothingLeft();
}

TEST_F(PodRunTest, ShimSigtermStopsThePodInOrderAndExits143) {
  WriteManifest("sigterm", Spec("Always", C("side", kUntilTerm, true), C("app", kUntilTerm)));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();
  ASSERT_EQ(::kill(shim, SIGTERM), 0);
  EXPECT_EQ(Wait(shim), 143) << Dump();
  auto ev = Events();
  int term = Find(ev, "TerminationStarted");
  ASSERT_GE(term, 0) << Dump();
  EXPECT_EQ(ev[term]["reason"], "Signal");
  EXPECT_LT(Find(ev, "SignalSent", "app"), Find(ev, "ContainerExited", "app"));
  EXPECT_LT(Find(ev, "ContainerExited", "app"), Find(ev, "SignalSent", "side"));
  EXPECT_GE(Find(ev, "PodFinished"), 0);
  ExpectNothingLeft();
}

TEST_F(PodRunTest, FailingInitUnderOnFailureIsRetried) {
  WriteManifest(
      "retry",
      Spec("OnFailure",
           C("init", "if [ -f /shared/once ]; then exit 0; fi; touch /shared/once; exit 1"),
           C("app", "true")));
  ASSERT_EQ(Run(), 0) << Dump();
  auto ev = Events();
  EXPECT_EQ(Count(ev, "ContainerStarted", "init"), 2);
  EXPECT_EQ(ev[Find(ev, "ContainerExited", "init", 0)]["exitCode"], 1);
  EXPECT_LT(Find(ev, "ContainerExited", "init", 1), Find(ev, "ContainerStarted", "app"));
  EXPECT_EQ(ev[Find(ev, "PodFinished")]["phase"], "Succeeded");
  ExpectNothingLeft();
}

TEST_F(PodRunTest, ContainerIgnoringSigtermIsKilledAfterTheGracePeriodWith137) {
  WriteManifest("stubborn",
                Spec("Always", "", C("app", "trap '' TERM; while :; do sleep 0.05; done"),
                     /*grace=*/1));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(shim, SIGTERM), 0);
  EXPECT_EQ(Wait(shim), 143) << Dump();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::seconds(1));
  EXPECT_LT(took, std::chrono::seconds(6));
  auto ev = Events();
  int kill = -1;
  for (int n = 0; n < 5; ++n) {
    int i = Find(ev, "SignalSent", "app", n);
    if (i >= 0 && ev[i]["signal"] == "SIGKILL") kill = i;
  }
  ASSERT_GE(kill, 0) << Dump();
  int exited = Find(ev, "ContainerExited", "app");
  EXPECT_LT(kill, exited);
  EXPECT_EQ(ev[exited]["exitCode"], 137);
  EXPECT_EQ(ev[exited]["signal"], "SIGKILL");
  EXPECT_EQ(ReadText(state_ / "containers/app/exit"), "137\n");
  ExpectNothingLeft();
}

TEST_F(PodRunTest, SecondSigtermKillsEverythingNow) {
  WriteManifest("twice", Spec("Always", "", C("app", "trap '' TERM; while :; do sleep 0.05; done"),
                              /*grace=*/30));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();
  ASSERT_EQ(::kill(shim, SIGTERM), 0);
  ASSERT_TRUE(WaitForEvent("SignalSent", "app")) << Dump();
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(shim, SIGINT), 0);
  EXPECT_EQ(Wait(shim), 143) << Dump();  // the first signal decides the status
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  auto ev = Events();
  EXPECT_EQ(ev[Find(ev, "ContainerExited", "app")]["exitCode"], 137);
  ExpectNothingLeft();
}

TEST_F(PodRunTest, SandboxHasLoUpHostnameTmpfsAndReadOnlyMounts) {
  WriteManifest(
      "sandbox",
      "  restartPolicy: Never\n"
      "  volumes: [{name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}]\n"
      "  containers:\n"
      "  - name: app\n"
      "    bundle: bundle\n"
      "    command: [sh, -c, \": podrun-token; ip link show lo | grep -q ',UP' && echo lo-up;"
      " hostname; grep ' /mem tmpfs' /proc/mounts | grep -q size=8192k && echo tmpfs;"
      " touch /ro/x 2>/dev/null || echo read-only; echo $MODE\"]\n"
      "    env: [{name: MODE, value: prod}]\n"
      "    volumeMounts: [{name: mem, mountPath: /mem}, {name: mem, mountPath: /ro, "
      "readOnly: true}]\n");
  ASSERT_EQ(Run(), 0) << Dump();
  std::string log = ReadText(state_ / "logs/app/0.log");
  for (const char* want :
       {" F lo-up\n", " F sandbox\n", " F tmpfs\n", " F read-only\n", " F prod\n"}) {
    EXPECT_NE(log.find(want), std::string::npos) << want << " not in\n" << log;
  }
  ExpectNothingLeft();
}

TEST_F(PodRunTest, ContainerThatCannotStartIsAStartErrorAndFailsThePod) {
  WriteManifest("noexec",
                "  restartPolicy: Never\n  containers:\n  - name: app\n"
                "    bundle: bundle\n    command: [/no/such/binary]\n");
  ASSERT_EQ(Run(), 1) << Dump();
  auto ev = Events();
  int failed = Find(ev, "ContainerStartFailed", "app");
  ASSERT_GE(failed, 0) << Dump();
  EXPECT_EQ(Find(ev, "ContainerStarted", "app"), -1);
  EXPECT_EQ(ev[Find(ev, "PodFinished")]["phase"], "Failed");
  json status = json::parse(ReadText(state_ / "status.json"));
  EXPECT_EQ(status["containerStatuses"][0]["state"]["terminated"]["reason"], "StartError");
  ExpectNothingLeft();
}

TEST_F(PodRunTest, BadManifestExits2AndStartsNothing) {
  WriteManifest("bad", "  containers:\n  - name: app\n    bundle: bundle\n    imagee: x\n");
  EXPECT_EQ(Run(), 2);
  EXPECT_NE(ReadText(tmp_ / "shim.err").find("spec.containers[0].imagee"), std::string::npos)
      << ReadText(tmp_ / "shim.err");
  EXPECT_FALSE(fs::exists(state_));

  WriteManifest("nobundle", "  containers:\n  - name: app\n    bundle: missing\n");
  EXPECT_EQ(Run(), 2);
  EXPECT_NE(ReadText(tmp_ / "shim.err").find("spec.containers[0].bundle: bundle directory"),
            std::string::npos)
      << ReadText(tmp_ / "shim.err");
  EXPECT_FALSE(fs::exists(state_));

  WriteManifest("novolume", Spec("Never", "", C("app", "true")).substr(0, 0) + "  containers:\n" +
                                C("app", "true"));
  EXPECT_EQ(Run(), 2);
  EXPECT_NE(ReadText(tmp_ / "shim.err").find("shared"), std::string::npos)
      << ReadText(tmp_ / "shim.err");
  EXPECT_FALSE(fs::exists(state_));
}

}  // namespace
