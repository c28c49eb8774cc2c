// A container's stop signal comes from its bundle: the org.opencontainers.image.stopSignal
// annotation an image's STOPSIGNAL becomes (a name or a number), SIGTERM without one; a value
// that is no signal is a bundle problem, reported by the one bundle check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "oci/spec.h"
#include "shim/manifest/bundle_check.h"
#include "shim/manifest/manifest.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;

oci::Spec WithAnnotation(const std::string& value) {
  oci::Spec spec;
  spec.annotations[std::string(kStopSignalAnnotation)] = value;
  return spec;
}

TEST(BundleStopSignalTest, SigtermWithoutTheAnnotation) {
  oci::Spec spec;
  spec.annotations["org.opencontainers.image.title"] = "web";
  Result<int> sig = BundleStopSignal(spec);
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(*sig, SIGTERM);
}

TEST(BundleStopSignalTest, NamesAndNumbersAsImagesWriteThem) {
  // umoci and buildah copy the image's STOPSIGNAL text ("SIGQUIT"); podman writes the number.
  for (auto [text, want] : {std::pair{"SIGQUIT", SIGQUIT}, std::pair{"SIGUSR1", SIGUSR1},
                            std::pair{"3", SIGQUIT}, std::pair{"15", SIGTERM},
                            std::pair{"winch", SIGWINCH}, std::pair{"SIGRTMIN+3", SIGRTMIN + 3}}) {
    SCOPED_TRACE(text);
    Result<int> sig = BundleStopSignal(WithAnnotation(text));
    ASSERT_TRUE(sig.has_value()) << sig.error().ToString();
    EXPECT_EQ(*sig, want);
  }
}

TEST(BundleStopSignalTest, AValueThatIsNoSignalIsAnError) {
  for (const char* text : {"SIGFOO", "0", "", "99"}) {
    SCOPED_TRACE(text);
    Result<int> sig = BundleStopSignal(WithAnnotation(text));
    ASSERT_FALSE(sig.has_value());
    EXPECT_EQ(sig.error().ToString(),
              "config.json annotations[\"org.opencontainers.image.stopSignal\"]: not a signal: \"" +
                  std::string(text) + "\"");
  }
}

class CheckBundlesStopSignalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/podshim-stopsignal-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A bundle with an empty rootfs; `annotations` is the JSON object's body ("" for none).
  void Bundle(const std::string& name, const std::string& annotations) {
    fs::create_directories(dir_ / name / "rootfs");
    std::ofstream(dir_ / name / "config.json")
        << R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
               "process": {"args": ["/bin/sh"], "cwd": "/"}, "annotations": {)"
        << annotations << "}}";
  }
  Pod Manifest() {
    Result<Pod> pod = ParseManifest(R"(apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers: [{name: proxy, bundle: proxy, restartPolicy: Always}]
  containers: [{name: app, bundle: app}, {name: db, bundle: db}]
)",
                                    dir_ / "pod.yaml");
    EXPECT_TRUE(pod.has_value()) << pod.error().ToString();
    return pod ? *pod : Pod{};
  }

  fs::path dir_;
};

TEST_F(CheckBundlesStopSignalTest, EachUsableBundleGivesItsStopSignal) {
  Bundle("proxy", R"("org.opencontainers.image.stopSignal": "SIGQUIT")");
  Bundle("app", "");
  Bundle("db", R"("org.opencontainers.image.stopSignal": "2", "other": "x")");
  StopSignals signals;
  std::vector<Error> problems = CheckBundles(Manifest().spec, &signals);
  EXPECT_TRUE(problems.empty()) << problems.front().ToString();
  EXPECT_THAT(signals, ::testing::UnorderedElementsAre(::testing::Pair("proxy", SIGQUIT),
                                                       ::testing::Pair("app", SIGTERM),
                                                       ::testing::Pair("db", SIGINT)));
}

TEST_F(CheckBundlesStopSignalTest, ABadStopSignalIsABundleProblem) {
  Bundle("proxy", "");
  Bundle("app", R"("org.opencontainers.image.stopSignal": "SIGNOPE")");
  Bundle("db", "");
  StopSignals signals;
  std::vector<Error> problems = CheckBundles(Manifest().spec, &signals);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].ToString(),
            "spec.containers[0].bundle: config.json "
            "annotations[\"org.opencontainers.image.stopSignal\"]: not a signal: \"SIGNOPE\"");
  EXPECT_EQ(signals.count("app"), 0u);
  EXPECT_EQ(signals.count("db"), 1u);
}

}  // namespace
}  // namespace podshim::shim
