// `podshim validate` and the bundle checks behind it, on manifests and bundles laid out in a
// temporary directory: every problem printed, exit 0 or 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "shim/cli/commands.h"
#include "shim/manifest/bundle_check.h"
#include "shim/manifest/manifest.h"
#include "shim/run/pod_runner.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr const char kGoodConfig[] = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
  "process": {"args": ["/bin/sh"], "cwd": "/"}})";

class ValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/podshim-validate-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const fs::path& rel, std::string_view text) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel) << text;
  }
  void GoodBundle(const std::string& name) {
    Write("bundles/" + name + "/config.json", kGoodConfig);
    fs::create_directories(dir_ / "bundles" / name / "rootfs");
  }

  // Runs `podshim validate <dir>/<manifest>`; returns the exit status, fills out_ and err_.
  int Validate(const std::string& manifest) {
    std::string path = (dir_ / manifest).string();
    std::string cmd = "validate";
    std::vector<char*> argv = {cmd.data(), path.data()};
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int rc = RunValidateCommand(static_cast<int>(argv.size()), argv.data());
    std::fflush(stdout);
    std::fflush(stderr);
    out_ = ::testing::internal::GetCapturedStdout();
    err_ = ::testing::internal::GetCapturedStderr();
    return rc;
  }

  fs::path dir_;
  std::string out_;
  std::string err_;
};

constexpr const char kPod[] = R"(
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers:
  - {name: setup, bundle: bundles/setup}
  - {name: proxy, bundle: bundles/proxy, restartPolicy: Always}
  containers:
  - {name: app, bundle: bundles/app}
)";

TEST_F(ValidateTest, ValidPodPrintsASummaryAndExitsZero) {
  Write("pod.yaml", kPod);
  for (const char* b : {"setup", "proxy", "app"}) GoodBundle(b);
  EXPECT_EQ(Validate("pod.yaml"), 0) << err_;
  EXPECT_EQ(out_, (dir_ / "pod.yaml").string() +
                      ": pod \"web\" is valid: 1 init container, 1 sidecar, 1 container, 0 "
                      "volumes, restartPolicy Always\n");
  EXPECT_EQ(err_, "");
}

TEST_F(ValidateTest, EveryBundleProblemIsReported) {
  Write("pod.yaml", kPod);
  GoodBundle("app");
  Write("bundles/setup/config.json", "{not json");  // bad config.json
  fs::create_directories(dir_ / "bundles/setup/rootfs");
  fs::create_directories(dir_ / "bundles/proxy");  // no config.json

  ManifestCheck check = CheckManifestFile(dir_ / "pod.yaml");
  ASSERT_TRUE(check.pod);
  std::vector<Error> errors = CheckBundles(check.pod->spec);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0].ToString(),
              HasSubstr("spec.initContainers[0].bundle: " + (dir_ / "bundles/setup").string()));
  EXPECT_EQ(errors[1].ToString(), "spec.initContainers[1].bundle: \"" +
                                      (dir_ / "bundles/proxy/config.json").string() +
                                      "\" does not exist or is not a file");

  fs::remove_all(dir_ / "bundles/app/rootfs");
  fs::remove_all(dir_ / "bundles/setup");
  errors = CheckBundles(check.pod->spec);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].ToString(), "spec.initContainers[0].bundle: bundle directory \"" +
                                      (dir_ / "bundles/setup").string() + "\" does not exist");
  EXPECT_EQ(errors[2].ToString(), "spec.containers[0].bundle: root.path \"" +
                                      (dir_ / "bundles/app/rootfs").string() + "\" does not exist");
}

// `validate` and `run` share one bundle check: a bundle that `run` would refuse (its launch plan
// cannot be built) is refused by `validate` too, with the same words.
TEST_F(ValidateTest, ValidateRefusesWhatRunRefusesWithTheSameMessage) {
  Write("pod.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - {name: app, bundle: bundles/app}
)");
  Write("bundles/app/config.json", R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
    "process": {"args": ["/bin/sh"], "cwd": "/", "terminal": true}})");
  fs::create_directories(dir_ / "bundles/app/rootfs");
  const std::string m = (dir_ / "pod.yaml").string();
  const std::string problem =
      m +
      ": spec.containers[0].bundle: process.terminal: not supported without a console socket "
      "(podshim oci create --console-socket, or podshim oci run in the foreground)";

  EXPECT_EQ(Validate("pod.yaml"), 2);
  EXPECT_EQ(err_, problem + "\n" + m + ": 1 problem\n");

  PodOptions options;
  options.manifest = m;
  Result<CheckedPod> checked = CheckPod(options);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().ToString(), problem);
}

// The manifest problems of the hardening issue: `validate` and CheckPod (what `run` and `start`
// check before creating anything, exit 2) refuse each with the same lines, each naming its field.
TEST_F(ValidateTest, ValidateAndRunRefuseTheSameManifestsWithTheSameMessages) {
  struct Case {
    std::string spec;  // the pod's spec; the bundle bundles/app exists and is good
    std::string problem;
  };
  const std::string kEnvName =
      " is not a valid environment variable name: it must consist of letters, digits, '_', '-' "
      "or '.', and must not start with a digit";
  const std::vector<Case> cases = {
      {"  volumes: [{name: v, emptyDir: {sizeLimit: 100Ei}}]\n"
       "  containers: [{name: app, bundle: bundles/app}]\n",
       "spec.volumes[0].emptyDir.sizeLimit: "},
      {"  volumes: [{name: v, emptyDir: {sizeLimit: -1Gi}}]\n"
       "  containers: [{name: app, bundle: bundles/app}]\n",
       "spec.volumes[0].emptyDir.sizeLimit: invalid quantity \"-1Gi\": must not be negative"},
      {"  volumes: [{name: v, hostPath: {path: /srv/../etc}}]\n"
       "  containers: [{name: app, bundle: bundles/app}]\n",
       "spec.volumes[0].hostPath.path: must not contain '..'"},
      {"  volumes: [{name: v, emptyDir: {}}]\n"
       "  containers: [{name: app, bundle: bundles/app,\n"
       "                volumeMounts: [{name: v, mountPath: /data/../etc}]}]\n",
       "spec.containers[0].volumeMounts[0].mountPath: must not contain '..'"},
      {"  volumes: [{name: v, emptyDir: {}}]\n"
       "  containers: [{name: app, bundle: bundles/app,\n"
       "                volumeMounts: [{name: v, mountPath: /../etc}]}]\n",
       "spec.containers[0].volumeMounts[0].mountPath: must not contain '..'"},
      {"  containers: [{name: app, bundle: bundles/app, env: [{name: 1A, value: x}]}]\n",
       "spec.containers[0].env[0].name: \"1A\"" + kEnvName},
      {"  containers: [{name: app, bundle: bundles/app, env: [{name: \"A B\", value: x}]}]\n",
       "spec.containers[0].env[0].name: \"A B\"" + kEnvName},
      {"  containers: [{name: app, bundle: bundles/app, env: [{name: ..A, value: x}]}]\n",
       "spec.containers[0].env[0].name: \"..A\" is not a valid environment variable name: must "
       "not start with '..'"},
      {"  containers: [{name: app, bundle: bundles/app, env: [{name: \"A\\0B\", value: x}]}]\n",
       "spec.containers[0].env[0].name: must not contain a NUL character"},
      {"  containers: [{name: app, bundle: bundles/app, env: [{name: A, value: \"x\\0y\"}]}]\n",
       "spec.containers[0].env[0].value: must not contain a NUL character"},
  };
  GoodBundle("app");
  const std::string m = (dir_ / "pod.yaml").string();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec);
    Write("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n" + c.spec);
    EXPECT_EQ(Validate("pod.yaml"), 2) << out_;
    std::string line = err_.substr(0, err_.find('\n'));
    EXPECT_THAT(line, ::testing::StartsWith(m + ": " + c.problem));
    if (c.problem.back() != ' ') {
      EXPECT_EQ(line, m + ": " + c.problem);
    }
    EXPECT_EQ(err_, line + "\n" + m + ": 1 problem\n");

    PodOptions options;
    options.manifest = m;
    Result<CheckedPod> checked = CheckPod(options);
    ASSERT_FALSE(checked) << "run accepts what validate refuses";
    EXPECT_EQ(checked.error().code(), make_error_code(ErrorCode::kInvalidSpec));
    EXPECT_EQ(checked.error().ToString(), line);
  }
}

// An empty command or args list is "not set", as in Kubernetes (kubelet overrides the image's
// entrypoint only when len(command) != 0): the bundle's process.args are used, by both commands.
TEST_F(ValidateTest, EmptyCommandAndArgsAreNotSetForValidateAndRun) {
  Write("pod.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - {name: app, bundle: bundles/app, command: [], args: []}
)");
  GoodBundle("app");
  EXPECT_EQ(Validate("pod.yaml"), 0) << err_;
  PodOptions options;
  options.manifest = (dir_ / "pod.yaml").string();
  Result<CheckedPod> checked = CheckPod(options);
  ASSERT_TRUE(checked) << checked.error().ToString();
  const Container& c = checked->pod.spec.containers.at(0);
  EXPECT_FALSE(c.command);
  EXPECT_FALSE(c.args);
}

TEST_F(ValidateTest, ManifestAndBundleProblemsAllPrintedExitTwo) {
  Write("pod.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  restartPolicy: Sometimes
  containers:
  - {name: app, bundle: bundles/app, resources: {limits: {cpuu: 1}}}
  - {name: db, bundle: bundles/db}
)");
  GoodBundle("db");
  EXPECT_EQ(Validate("pod.yaml"), 2);
  EXPECT_EQ(out_, "");
  const std::string m = (dir_ / "pod.yaml").string();
  EXPECT_EQ(err_, m +
                      ": spec.restartPolicy: unsupported value \"Sometimes\": supported values: "
                      "\"Always\", \"OnFailure\", \"Never\"\n" +
                      m + ": spec.containers[0].resources.limits.cpuu: unknown field\n" + m +
                      ": spec.containers[0].bundle: bundle directory \"" +
                      (dir_ / "bundles/app").string() + "\" does not exist\n" + m +
                      ": 3 problems\n");
}

TEST_F(ValidateTest, MalformedQuantitiesAndRequestsAboveLimitsAreReported) {
  Write("pod.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: q}
spec:
  overhead: {cpu: 12x}
  volumes: [{name: v, emptyDir: {sizeLimit: -1Gi}}]
  containers:
  - name: app
    bundle: bundles/app
    resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: 250m, memory: 2Gi}}
)");
  GoodBundle("app");
  EXPECT_EQ(Validate("pod.yaml"), 2);
  const std::string m = (dir_ / "pod.yaml").string();
  std::vector<std::string> lines;
  std::istringstream in(err_);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u) << err_;
  EXPECT_EQ(lines.back(), m + ": 3 problems");
  lines.pop_back();
  EXPECT_THAT(lines, UnorderedElementsAre(
                         m + ": spec.overhead.cpu: invalid quantity \"12x\"",
                         m + ": spec.volumes[0].emptyDir.sizeLimit: invalid quantity \"-1Gi\": "
                             "must not be negative",
                         m + ": spec.containers[0].resources.requests.cpu: must be less than or "
                             "equal to cpu limit of 250m"));
}

TEST_F(ValidateTest, UnreadableManifestAndUsageErrors) {
  EXPECT_EQ(Validate("missing.yaml"), 2);
  EXPECT_THAT(err_, HasSubstr("missing.yaml"));
  EXPECT_THAT(err_, HasSubstr("No such file or directory"));

  std::string cmd = "validate";
  std::vector<char*> argv = {cmd.data()};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunValidateCommand(1, argv.data()), 2);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("usage: podshim validate"));
}

TEST_F(ValidateTest, ExamplesAreValidOnceTheirBundlesExist) {
  // The examples name bundles/<name> beside them; lay the same names out here.
  for (const char* example : {"web-pod.yaml", "job-with-log-shipper.yaml"}) {
    fs::path src = fs::path(PODSHIM_SOURCE_DIR) / "examples" / example;
    fs::copy_file(src, dir_ / example, fs::copy_options::overwrite_existing);
    auto pod = LoadManifest(dir_ / example);
    ASSERT_TRUE(pod.has_value()) << pod.error().ToString();
    for (const auto* list : {&pod->spec.init_containers, &pod->spec.containers}) {
      for (const Container& c : *list) GoodBundle(c.bundle.filename().string());
    }
    EXPECT_EQ(Validate(example), 0) << err_;
    EXPECT_THAT(out_, HasSubstr("is valid"));
  }
}

}  // namespace
}  // namespace podshim::shim
