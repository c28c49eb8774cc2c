// A container is stopped with its bundle's stop signal (the annotation an image's STOPSIGNAL
// becomes, org.opencontainers.image.stopSignal), as containerd and CRI-O stop it with the
// image's; a value that is no signal is bad input: `run` exits 2 and starts nothing.
#include "pod_fixture.h"

namespace podshim::pod_test {
namespace {

using namespace std::chrono_literals;

const std::string kLoop = "while :; do sleep 0.05; done";

class PodStopSignalTest : public PodRunTest {
 protected:
  // Puts the annotation into the test bundle's config.json (every container uses that bundle).
  void AnnotateBundle(const std::string& stop_signal) {
    fs::path config = tmp_ / "bundle" / "config.json";
    json spec = json::parse(ReadText(config));
    spec["annotations"]["org.opencontainers.image.stopSignal"] = stop_signal;
    std::ofstream(config) << spec.dump();
  }
};

TEST_F(PodStopSignalTest, ContainersGetTheBundlesStopSignalInsteadOfSigterm) {
  AnnotateBundle("SIGQUIT");
  // SIGTERM would end them with another exit code: only SIGQUIT gives 3 and 0.
  WriteManifest("stopsig",
                Spec("Always", C("side", "trap 'exit 0' QUIT; trap 'exit 8' TERM; " + kLoop, true),
                     C("app", "trap 'exit 3' QUIT; trap 'exit 9' TERM; " + kLoop)));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();
  ASSERT_EQ(::kill(shim, SIGTERM), 0);
  EXPECT_EQ(Wait(shim), 143) << Dump();
  auto ev = Events();
  int app_sig = FindWith(ev, "SignalSent", "app", "signal", "SIGQUIT");
  int app_exit = Find(ev, "ContainerExited", "app");
  int side_sig = FindWith(ev, "SignalSent", "side", "signal", "SIGQUIT");
  int side_exit = Find(ev, "ContainerExited", "side");
  ASSERT_GE(app_sig, 0) << Dump();
  ASSERT_GE(app_exit, 0) << Dump();
  ASSERT_GE(side_sig, 0) << Dump();
  ASSERT_GE(side_exit, 0) << Dump();
  EXPECT_LT(app_sig, app_exit);
  EXPECT_LT(app_exit, side_sig);
  EXPECT_EQ(ev[app_exit]["exitCode"], 3) << Dump();
  EXPECT_EQ(ev[side_exit]["exitCode"], 0) << Dump();
  EXPECT_EQ(CountWith(ev, "SignalSent", "", "signal", "SIGTERM"), 0) << Dump();
  EXPECT_EQ(CountWith(ev, "SignalSent", "", "signal", "SIGKILL"), 0) << Dump();
  ExpectNothingLeft();
}

TEST_F(PodStopSignalTest, AStopSignalThatIsNoSignalIsBadInput) {
  AnnotateBundle("SIGNOPE");
  WriteManifest("badsig", Spec("Never", "", C("app", "true")));
  EXPECT_EQ(RunBounded(30s), 2) << Dump();
  EXPECT_NE(ReadText(tmp_ / "shim.err")
                .find("spec.containers[0].bundle: config.json "
                      "annotations[\"org.opencontainers.image.stopSignal\"]: not a signal: "
                      "\"SIGNOPE\""),
            std::string::npos)
      << ReadText(tmp_ / "shim.err");
  EXPECT_FALSE(fs::exists(state_)) << "nothing is created for bad input";
  ExpectNothingLeft();
}

}  // namespace
}  // namespace podshim::pod_test
