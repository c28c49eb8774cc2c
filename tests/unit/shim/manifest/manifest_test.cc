// The manifest parser: defaults, YAML and JSON, bundle resolution, and every class of error with
// its exact path (the invalid fixtures carry their expected errors in "# expect:" lines).
#include "shim/manifest/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <variant>

#include "shim/manifest/manifest_validate.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const fs::path kFixtures = fs::path(PODSHIM_SOURCE_DIR) / "tests/fixtures/data/manifests";
const fs::path kExamples = fs::path(PODSHIM_SOURCE_DIR) / "examples";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> ErrorStrings(const ManifestCheck& check) {
  std::vector<std::string> out;
  for (const Error& e : check.errors) out.push_back(e.ToString());
  return out;
}

Pod MustParse(std::string_view text, const fs::path& path = "/m/pod.yaml") {
  ManifestCheck check = CheckManifest(text, path);
  EXPECT_TRUE(check.errors.empty()) << ::testing::PrintToString(ErrorStrings(check));
  return check.pod.value_or(Pod{});
}

std::vector<std::string> Errors(std::string_view text) {
  return ErrorStrings(CheckManifest(text, "/m/pod.yaml"));
}

TEST(ManifestTest, MinimalPodGetsKubernetesDefaults) {
  ManifestCheck check = CheckManifestFile(kFixtures / "valid/minimal.yaml");
  ASSERT_TRUE(check.errors.empty()) << ::testing::PrintToString(ErrorStrings(check));
  const Pod& pod = *check.pod;
  EXPECT_EQ(pod.metadata.name, "minimal");
  EXPECT_EQ(pod.spec.restart_policy, PodRestartPolicy::kAlways);
  EXPECT_EQ(pod.spec.termination_grace_period, seconds(30));
  EXPECT_FALSE(pod.spec.active_deadline);
  EXPECT_FALSE(pod.spec.host_network);
  EXPECT_TRUE(pod.spec.overhead.empty());
  EXPECT_TRUE(pod.spec.resources.empty());
  EXPECT_TRUE(pod.spec.init_containers.empty());
  ASSERT_EQ(pod.spec.containers.size(), 1u);
  const Container& c = pod.spec.containers[0];
  EXPECT_EQ(c.name, "main");
  EXPECT_EQ(c.bundle, fs::absolute(kFixtures / "valid/bundles/main").lexically_normal());
  EXPECT_EQ(c.role(), ContainerRole::kApp);
  EXPECT_FALSE(c.command);
  EXPECT_FALSE(c.args);
  EXPECT_FALSE(c.working_dir);
  EXPECT_FALSE(c.startup_probe || c.readiness_probe || c.liveness_probe);
  EXPECT_FALSE(c.lifecycle.post_start || c.lifecycle.pre_stop);
  EXPECT_TRUE(c.resources.empty());
}

TEST(ManifestTest, FullJsonFixtureFillsEveryField) {
  ManifestCheck check = CheckManifestFile(kFixtures / "valid/full.json");
  // The fixture reads every field, including a handler the shim cannot carry out (grpc): the
  // parser fills it in, validation refuses it (and nothing else; an HTTPS httpGet is fine).
  EXPECT_THAT(ErrorStrings(check),
              ElementsAre("spec.initContainers[1].startupProbe.grpc: grpc probes are not "
                          "supported by podshim"));
  ASSERT_TRUE(check.partial.has_value());
  const Pod& pod = *check.partial;
  const fs::path dir = fs::absolute(kFixtures / "valid");
  EXPECT_EQ(pod.metadata.namespace_name, "default");
  EXPECT_THAT(pod.metadata.labels, ElementsAre(std::pair<std::string, std::string>("app", "full")));
  ASSERT_EQ(pod.metadata.annotations.size(), 1u);
  const PodSpec& spec = pod.spec;
  EXPECT_EQ(spec.restart_policy, PodRestartPolicy::kOnFailure);
  EXPECT_EQ(spec.termination_grace_period, seconds(15));
  EXPECT_EQ(spec.active_deadline, seconds(600));
  EXPECT_TRUE(spec.host_network);
  ASSERT_EQ(spec.overhead.size(), 2u);
  EXPECT_EQ(spec.overhead[0].name, "cpu");
  EXPECT_EQ(spec.overhead[0].value, "100m");
  EXPECT_EQ(spec.overhead[0].path, "spec.overhead.cpu");
  ASSERT_NE(FindQuantity(spec.resources.limits, "cpu"), nullptr);
  EXPECT_EQ(FindQuantity(spec.resources.limits, "cpu")->value, "2");  // a JSON number, raw
  EXPECT_EQ(FindQuantity(spec.resources.limits, "hugepages-2Mi")->value, "4Mi");

  ASSERT_EQ(spec.volumes.size(), 2u);
  const auto& scratch = std::get<EmptyDirVolume>(spec.volumes[0].source);
  EXPECT_EQ(scratch.medium, "Memory");
  ASSERT_TRUE(scratch.size_limit);
  EXPECT_EQ(scratch.size_limit->value, "64Mi");
  EXPECT_EQ(scratch.size_limit->path, "spec.volumes[0].emptyDir.sizeLimit");
  const auto& host = std::get<HostPathVolume>(spec.volumes[1].source);
  EXPECT_EQ(host.path, "/etc");
  EXPECT_EQ(host.type, "Directory");

  ASSERT_EQ(spec.init_containers.size(), 2u);
  const Container& prepare = spec.init_containers[0];
  EXPECT_EQ(prepare.role(), ContainerRole::kInit);
  EXPECT_EQ(prepare.bundle, fs::path("/abs/bundles/prepare"));
  EXPECT_EQ(prepare.args, std::vector<std::string>{"--once"});
  EXPECT_FALSE(prepare.command);

  const Container& sidecar = spec.init_containers[1];
  EXPECT_EQ(sidecar.role(), ContainerRole::kSidecar);
  EXPECT_EQ(sidecar.bundle, (dir / "../bundles/sidecar").lexically_normal());
  ASSERT_TRUE(sidecar.startup_probe);
  const auto& grpc = std::get<GrpcAction>(sidecar.startup_probe->handler);
  EXPECT_EQ(grpc.port, 9090);
  EXPECT_EQ(grpc.service, "health");
  EXPECT_EQ(sidecar.startup_probe->failure_threshold, 30);
  EXPECT_EQ(sidecar.startup_probe->termination_grace_period, seconds(5));
  ASSERT_TRUE(sidecar.lifecycle.post_start);
  const auto& hook = std::get<HttpGetAction>(*sidecar.lifecycle.post_start);
  EXPECT_EQ(hook.port, 9090);
  EXPECT_EQ(hook.port_name, "grpc");
  EXPECT_EQ(hook.path, "/started");
  EXPECT_EQ(hook.host, "127.0.0.1");
  EXPECT_EQ(hook.scheme, HttpScheme::kHttps);
  ASSERT_EQ(hook.http_headers.size(), 1u);
  EXPECT_EQ(hook.http_headers[0].name, "X-Hook");
  EXPECT_EQ(hook.http_headers[0].value, "1");

  ASSERT_EQ(spec.containers.size(), 1u);
  const Container& main = spec.containers[0];
  EXPECT_EQ(main.command, std::vector<std::string>{"/bin/server"});
  EXPECT_EQ(main.args, (std::vector<std::string>{"--port", "8080"}));
  ASSERT_EQ(main.env.size(), 2u);
  EXPECT_EQ(main.env[0].name, "A");
  EXPECT_EQ(main.env[0].value, "1");
  EXPECT_EQ(main.env[1].name, "EMPTY");
  EXPECT_EQ(main.env[1].value, "");
  EXPECT_EQ(main.working_dir, "/srv");
  ASSERT_EQ(main.ports.size(), 1u);
  EXPECT_EQ(main.ports[0].container_port, 8080);
  EXPECT_EQ(main.ports[0].protocol, "TCP");
  ASSERT_EQ(main.volume_mounts.size(), 2u);
  EXPECT_FALSE(main.volume_mounts[0].read_only);
  EXPECT_TRUE(main.volume_mounts[1].read_only);
  EXPECT_EQ(main.volume_mounts[1].mount_path, "/host/etc");
  const ResourceList& limits = main.resources.limits;
  ASSERT_EQ(limits.size(), 3u);
  EXPECT_EQ(limits[0].value, "1.5");
  EXPECT_EQ(limits[1].value, "1e9");
  EXPECT_EQ(limits[2].name, "example.com/gpu");
  EXPECT_EQ(limits[1].path, "spec.containers[0].resources.limits.memory");

  ASSERT_TRUE(main.readiness_probe);
  const Probe& ready = *main.readiness_probe;
  const auto& get = std::get<HttpGetAction>(ready.handler);
  EXPECT_EQ(get.port, 8080);
  EXPECT_EQ(get.port_name, "");
  EXPECT_EQ(get.path, "/");
  EXPECT_EQ(get.scheme, HttpScheme::kHttp);
  EXPECT_EQ(ready.initial_delay, seconds(2));
  EXPECT_EQ(ready.period, seconds(3));
  EXPECT_EQ(ready.timeout, seconds(2));
  EXPECT_EQ(ready.success_threshold, 2);
  EXPECT_EQ(ready.failure_threshold, 4);
  ASSERT_TRUE(main.liveness_probe);
  const auto& tcp = std::get<TcpSocketAction>(main.liveness_probe->handler);
  EXPECT_EQ(tcp.port, 8080);
  EXPECT_EQ(tcp.host, "localhost");
  ASSERT_TRUE(main.lifecycle.pre_stop);
  EXPECT_EQ(std::get<ExecAction>(*main.lifecycle.pre_stop).command,
            (std::vector<std::string>{"/bin/sh", "-c", "sleep 1"}));
  ASSERT_TRUE(main.lifecycle.post_start);
  EXPECT_EQ(std::get<SleepAction>(*main.lifecycle.post_start).duration, seconds(2));
}

TEST(ManifestTest, ProbeDefaultsFollowSetDefaultsProbe) {
  Pod pod = MustParse(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: a
    bundle: b
    livenessProbe: {exec: {command: ["true"]}}
    readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 2}
)");
  const Container& c = pod.spec.containers.at(0);
  ASSERT_TRUE(c.liveness_probe);
  EXPECT_EQ(c.liveness_probe->initial_delay, seconds(0));
  EXPECT_EQ(c.liveness_probe->period, seconds(10));
  EXPECT_EQ(c.liveness_probe->timeout, seconds(1));
  EXPECT_EQ(c.liveness_probe->success_threshold, 1);
  EXPECT_EQ(c.liveness_probe->failure_threshold, 3);
  EXPECT_FALSE(c.liveness_probe->termination_grace_period);
  EXPECT_EQ(std::get<ExecAction>(c.liveness_probe->handler).command,
            std::vector<std::string>{"true"});
  ASSERT_TRUE(c.readiness_probe);
  EXPECT_EQ(c.readiness_probe->period, seconds(2));
  EXPECT_EQ(c.readiness_probe->timeout, seconds(1));
}

TEST(ManifestTest, YamlAndJsonGiveTheSameModel) {
  Pod yaml = MustParse(R"(
apiVersion: v1
kind: Pod
metadata: {name: same}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 7
  initContainers:
  - {name: side, bundle: bundles/side, restartPolicy: Always,
     startupProbe: {httpGet: {port: 81, path: /up}, periodSeconds: 1}}
  containers:
  - name: app
    bundle: bundles/app
    command: [/bin/sh, -c, "exit 0"]
    resources: {requests: {cpu: 0.5, memory: 64Mi}}
)");
  Pod json = MustParse(R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "same"},
 "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 7,
  "initContainers": [{"name": "side", "bundle": "bundles/side", "restartPolicy": "Always",
    "startupProbe": {"httpGet": {"port": 81, "path": "/up"}, "periodSeconds": 1}}],
  "containers": [{"name": "app", "bundle": "bundles/app", "command": ["/bin/sh", "-c", "exit 0"],
    "resources": {"requests": {"cpu": 0.5, "memory": "64Mi"}}}]}})");
  for (const Pod* p : {&yaml, &json}) {
    EXPECT_EQ(p->metadata.name, "same");
    EXPECT_EQ(p->spec.restart_policy, PodRestartPolicy::kNever);
    EXPECT_EQ(p->spec.termination_grace_period, seconds(7));
    ASSERT_EQ(p->spec.init_containers.size(), 1u);
    EXPECT_EQ(p->spec.init_containers[0].role(), ContainerRole::kSidecar);
    EXPECT_EQ(p->spec.init_containers[0].bundle, fs::path("/m/bundles/side"));
    ASSERT_TRUE(p->spec.init_containers[0].startup_probe);
    EXPECT_EQ(std::get<HttpGetAction>(p->spec.init_containers[0].startup_probe->handler).path,
              "/up");
    ASSERT_EQ(p->spec.containers.size(), 1u);
    EXPECT_EQ(p->spec.containers[0].command, (std::vector<std::string>{"/bin/sh", "-c", "exit 0"}));
    ASSERT_EQ(p->spec.containers[0].resources.requests.size(), 2u);
    EXPECT_EQ(p->spec.containers[0].resources.requests[0].value, "0.5");
    EXPECT_EQ(p->spec.containers[0].resources.requests[1].value, "64Mi");
  }
}

TEST(ManifestTest, NullMeansUnsetAndQuotedTextIsAString) {
  Pod pod = MustParse(R"(
apiVersion: v1
kind: Pod
metadata: {name: nulls}
spec:
  restartPolicy: ~
  terminationGracePeriodSeconds: null
  containers:
  - name: a
    bundle: b
    command: ["sleep", "1", !!str 2]
    env: [{name: N, value: "007"}, {name: T, value: "true"}]
)");
  EXPECT_EQ(pod.spec.restart_policy, PodRestartPolicy::kAlways);
  EXPECT_EQ(pod.spec.termination_grace_period, seconds(30));
  const Container& c = pod.spec.containers.at(0);
  EXPECT_EQ(c.command, (std::vector<std::string>{"sleep", "1", "2"}));
  EXPECT_EQ(c.env.at(0).value, "007");
  EXPECT_EQ(c.env.at(1).value, "true");
}

TEST(ManifestTest, BundlePathsResolveAgainstTheManifestDirectory) {
  const char* text = R"(
apiVersion: v1
kind: Pod
metadata: {name: b}
spec:
  containers:
  - {name: rel, bundle: bundles/app}
  - {name: up, bundle: ../common/./bundle}
  - {name: abs, bundle: /opt/bundle/}
)";
  Pod pod = MustParse(text, "/srv/pods/pod.yaml");
  EXPECT_EQ(pod.spec.containers.at(0).bundle, fs::path("/srv/pods/bundles/app"));
  EXPECT_EQ(pod.spec.containers.at(1).bundle, fs::path("/srv/common/bundle"));
  EXPECT_EQ(pod.spec.containers.at(2).bundle, fs::path("/opt/bundle/"));
  EXPECT_EQ(pod.manifest_path, fs::path("/srv/pods/pod.yaml"));
}

TEST(ManifestTest, ExamplesParse) {
  size_t count = 0;
  for (const auto& entry : fs::directory_iterator(kExamples)) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    auto pod = LoadManifest(entry.path());
    EXPECT_TRUE(pod.has_value()) << entry.path() << ": " << pod.error().ToString();
  }
  EXPECT_GE(count, 2u);
}

TEST(ManifestTest, WebExampleHasSidecarInitAndApp) {
  auto pod = LoadManifest(kExamples / "web-pod.yaml");
  ASSERT_TRUE(pod.has_value()) << pod.error().ToString();
  const PodSpec& spec = pod->spec;
  ASSERT_EQ(spec.init_containers.size(), 2u);
  EXPECT_EQ(spec.init_containers[0].role(), ContainerRole::kInit);
  EXPECT_EQ(spec.init_containers[1].role(), ContainerRole::kSidecar);
  EXPECT_EQ(spec.init_containers[1].bundle,
            fs::absolute(kExamples / "bundles/proxy").lexically_normal());
  const Probe& startup = *spec.init_containers[1].startup_probe;
  EXPECT_EQ(std::get<TcpSocketAction>(startup.handler).port, 8080);
  EXPECT_EQ(std::get<TcpSocketAction>(startup.handler).port_name, "http");
  EXPECT_EQ(startup.period, seconds(1));
  EXPECT_EQ(startup.failure_threshold, 10);
  EXPECT_EQ(startup.timeout, seconds(1));
  ASSERT_EQ(spec.containers.size(), 1u);
  EXPECT_EQ(spec.containers[0].role(), ContainerRole::kApp);
  EXPECT_EQ(std::get<SleepAction>(*spec.containers[0].lifecycle.pre_stop).duration, seconds(1));
  ASSERT_EQ(spec.volumes.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<EmptyDirVolume>(spec.volumes[0].source));
}

TEST(ManifestTest, JobExampleIsRestartNeverWithALogShipperSidecar) {
  auto pod = LoadManifest(kExamples / "job-with-log-shipper.yaml");
  ASSERT_TRUE(pod.has_value()) << pod.error().ToString();
  EXPECT_EQ(pod->spec.restart_policy, PodRestartPolicy::kNever);
  ASSERT_EQ(pod->spec.init_containers.size(), 1u);
  EXPECT_EQ(pod->spec.init_containers[0].name, "log-shipper");
  EXPECT_EQ(pod->spec.init_containers[0].role(), ContainerRole::kSidecar);
  ASSERT_EQ(pod->spec.containers.size(), 1u);
  EXPECT_EQ(FindContainer(pod->spec, "worker"), &pod->spec.containers[0]);
  EXPECT_EQ(FindContainer(pod->spec, "nope"), nullptr);
}

// Each invalid fixture lists every error it must produce ("# expect: ..." lines, or a .expect
// file beside a JSON fixture); the check is exact, so no extra or missing problem slips by.
TEST(ManifestTest, InvalidFixturesReportExactlyTheirErrors) {
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures / "invalid")) {
    const fs::path& p = entry.path();
    if (p.extension() == ".expect") continue;
    ++files;
    std::vector<std::string> expected;
    std::istringstream lines(p.extension() == ".json" ? ReadFile(p.string() + ".expect")
                                                      : ReadFile(p));
    for (std::string line; std::getline(lines, line);) {
      if (p.extension() == ".json") {
        if (!line.empty()) expected.push_back(line);
      } else if (line.starts_with("# expect: ")) {
        expected.push_back(line.substr(10));
      }
    }
    ASSERT_FALSE(expected.empty()) << p << " has no expectations";
    ManifestCheck check = CheckManifestFile(p);
    EXPECT_FALSE(check.pod) << p;
    std::vector<std::string> got = ErrorStrings(check);
    std::sort(expected.begin(), expected.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected) << p;
  }
  EXPECT_GE(files, 15u);
}

TEST(ManifestTest, UnknownFieldNamesItsFullPath) {
  EXPECT_THAT(Errors(R"(
apiVersion: v1
kind: Pod
metadata: {name: x}
spec:
  containers:
  - {name: a, bundle: a}
  - {name: b, bundle: b, resources: {limits: {cpuu: "1"}}}
)"),
              ElementsAre("spec.containers[1].resources.limits.cpuu: unknown field"));
}

TEST(ManifestTest, ResourceNamesAcceptedAsKubernetesDoes) {
  Pod pod = MustParse(R"(
apiVersion: v1
kind: Pod
metadata: {name: x}
spec:
  containers:
  - name: a
    bundle: a
    resources:
      requests: {cpu: 1e3, memory: 1.5Gi, ephemeral-storage: 1Gi, hugepages-1Gi: 2Gi,
                 nvidia.com/gpu: "1"}
)");
  const ResourceList& r = pod.spec.containers.at(0).resources.requests;
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].value, "1e3");
  EXPECT_EQ(r[1].value, "1.5Gi");
  EXPECT_EQ(r[4].name, "nvidia.com/gpu");
  EXPECT_EQ(r[4].path, "spec.containers[0].resources.requests.nvidia.com/gpu");
}

TEST(ManifestTest, NotAnObjectAtTheTop) {
  EXPECT_THAT(Errors("[1, 2]"), ElementsAre("manifest: expected an object"));
  EXPECT_THAT(Errors(""), ElementsAre("manifest: empty document"));
  EXPECT_THAT(Errors("# only a comment\n"), ElementsAre("manifest: empty document"));
}

TEST(ManifestTest, WrongShapesAreReportedNotCrashedOn) {
  const std::string head = "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n";
  EXPECT_THAT(Errors(head + "spec: 5\n"), ElementsAre("spec: expected an object"));
  EXPECT_THAT(Errors(head + "spec: {containers: [a, [b]]}\n"),
              ElementsAre("spec.containers[0]: expected an object",
                          "spec.containers[1]: expected an object"));
  EXPECT_THAT(Errors("apiVersion: v1\nkind: Pod\nmetadata: []\nspec: {containers: {}}\n"),
              ElementsAre("metadata: expected an object", "spec.containers: expected a list"));
  EXPECT_THAT(Errors(head + "spec:\n  containers:\n  - {name: a, bundle: b, env: [x], "
                            "lifecycle: {preStop: {sleep: 3}}, startupProbe: {exec: {command: "
                            "ls}}}\n"),
              ElementsAre("spec.containers[0].env[0]: expected an object",
                          "spec.containers[0].startupProbe.exec.command: expected a list",
                          "spec.containers[0].lifecycle.preStop.sleep: expected an object"));
  EXPECT_THAT(Errors(head + "spec: {containers: [{name: a, bundle: b}], hostNetwork: 1, "
                            "terminationGracePeriodSeconds: 99999999999999999999}\n"),
              ElementsAre("spec.terminationGracePeriodSeconds: integer out of range",
                          "spec.hostNetwork: expected a boolean"));
}

TEST(ManifestTest, ParseManifestJoinsEveryProblem) {
  auto pod = ParseManifest(R"(
apiVersion: v1
kind: Pod
metadata: {name: x}
spec:
  restartPolicy: Maybe
  containers: [{name: a}]
)",
                           "/m/pod.yaml");
  ASSERT_FALSE(pod.has_value());
  EXPECT_EQ(pod.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_EQ(pod.error().ToString(),
            "spec.restartPolicy: unsupported value \"Maybe\": supported values: \"Always\", "
            "\"OnFailure\", \"Never\"\n"
            "spec.containers[0].bundle: required");
}

TEST(ManifestTest, LoadManifestPrefixesTheFileName) {
  const fs::path p = kFixtures / "invalid/no-containers.yaml";
  auto pod = LoadManifest(p);
  ASSERT_FALSE(pod.has_value());
  EXPECT_EQ(pod.error().ToString(),
            p.string() + ": spec.containers: must have at least one container");
}

TEST(ManifestTest, MissingFileIsAnErrnoError) {
  auto pod = LoadManifest("/nonexistent/podshim/pod.yaml");
  ASSERT_FALSE(pod.has_value());
  EXPECT_EQ(pod.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_THAT(pod.error().ToString(), HasSubstr("/nonexistent/podshim/pod.yaml"));
}

TEST(ManifestTest, RoleNamesAndPolicyNames) {
  EXPECT_EQ(ContainerRoleName(ContainerRole::kInit), "init");
  EXPECT_EQ(ContainerRoleName(ContainerRole::kSidecar), "sidecar");
  EXPECT_EQ(ContainerRoleName(ContainerRole::kApp), "app");
  EXPECT_EQ(ProbeKindName(ProbeKind::kStartup), "startup");
  EXPECT_EQ(ProbeKindName(ProbeKind::kReadiness), "readiness");
  EXPECT_EQ(ProbeKindName(ProbeKind::kLiveness), "liveness");
  EXPECT_EQ(PodRestartPolicyName(PodRestartPolicy::kOnFailure), "OnFailure");
}

TEST(ManifestValidateTest, Dns1123Labels) {
  EXPECT_TRUE(IsDns1123Label("a"));
  EXPECT_TRUE(IsDns1123Label("web-1"));
  EXPECT_TRUE(IsDns1123Label("0abc"));
  EXPECT_TRUE(IsDns1123Label(std::string(63, 'a')));
  EXPECT_FALSE(IsDns1123Label(std::string(64, 'a')));
  EXPECT_FALSE(IsDns1123Label(""));
  EXPECT_FALSE(IsDns1123Label("-a"));
  EXPECT_FALSE(IsDns1123Label("a-"));
  EXPECT_FALSE(IsDns1123Label("A"));
  EXPECT_FALSE(IsDns1123Label("a.b"));
  EXPECT_FALSE(IsDns1123Label("a_b"));
}

TEST(ManifestValidateTest, IanaServiceNames) {
  EXPECT_TRUE(IsIanaSvcName("http"));
  EXPECT_TRUE(IsIanaSvcName("h2c-8080"));
  EXPECT_FALSE(IsIanaSvcName("8080"));
  EXPECT_FALSE(IsIanaSvcName("a--b"));
  EXPECT_FALSE(IsIanaSvcName("-a"));
  EXPECT_FALSE(IsIanaSvcName("sixteen-chars-xx"));
  EXPECT_FALSE(IsIanaSvcName("Http"));
}

TEST(ManifestValidateTest, ContainerPathsNameTheirList) {
  Container init;
  init.is_init = true;
  EXPECT_EQ(ContainerPath(init, 2), "spec.initContainers[2]");
  EXPECT_EQ(ContainerPath(Container{}, 0), "spec.containers[0]");
}

TEST(ManifestTest, HugeSecondsAreClampedToOneHundredYears) {
  const seconds kHundredYears(3'155'760'000);  // kMaxManifestSeconds: 365.25 days a year
  Pod pod = MustParse(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  terminationGracePeriodSeconds: 9223372036854775807
  activeDeadlineSeconds: 9223372036854775807
  containers:
  - name: a
    bundle: b
    livenessProbe: {exec: {command: ["true"]}, terminationGracePeriodSeconds: 9223372036854775807,
                    periodSeconds: 2147483647, timeoutSeconds: 2147483647,
                    initialDelaySeconds: 2147483647}
    lifecycle: {preStop: {sleep: {seconds: 9223372036854775807}}}
)");
  EXPECT_EQ(pod.spec.termination_grace_period, kHundredYears);
  EXPECT_EQ(pod.spec.active_deadline, kHundredYears);
  const Container& c = pod.spec.containers.at(0);
  ASSERT_TRUE(c.liveness_probe);
  EXPECT_EQ(c.liveness_probe->termination_grace_period, kHundredYears);
  // The probe's own fields are int32 in Kubernetes (68 years): they fit, and are kept.
  EXPECT_EQ(c.liveness_probe->period, seconds(2147483647));
  EXPECT_EQ(c.liveness_probe->timeout, seconds(2147483647));
  EXPECT_EQ(c.liveness_probe->initial_delay, seconds(2147483647));
  ASSERT_TRUE(c.lifecycle.pre_stop);
  const auto* sleep = std::get_if<SleepAction>(&*c.lifecycle.pre_stop);
  ASSERT_TRUE(sleep);
  EXPECT_EQ(sleep->duration, kHundredYears);
}

TEST(ManifestTest, EnvNamesKubernetesAcceptsAreKeptAndEmptyListsAreNotSet) {
  Pod pod = MustParse(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: a
    bundle: b
    command: []
    args: []
    env: [{name: my.env-name}, {name: MY_ENV.NAME}, {name: MyEnvName1}, {name: _x}, {name: -x},
          {name: .x, value: "a b"}]
)");
  const Container& c = pod.spec.containers.at(0);
  EXPECT_FALSE(c.command);
  EXPECT_FALSE(c.args);
  ASSERT_EQ(c.env.size(), 6u);
  EXPECT_EQ(c.env[5].name, ".x");
  EXPECT_EQ(c.env[5].value, "a b");
}

TEST(ManifestTest, DotDotPathsAndBadEnvAreRefusedWithTheirPaths) {
  EXPECT_THAT(
      Errors(R"(
apiVersion: v1
kind: Pod
metadata: {name: x}
spec:
  volumes: [{name: h, hostPath: {path: /a/..}}, {name: e, emptyDir: {}}]
  containers:
  - name: a
    bundle: b
    volumeMounts: [{name: e, mountPath: /x/../y}, {name: h, mountPath: /ok/..data}]
    env: [{name: "9", value: v}, {name: "..", value: v}, {name: OK, value: "\0"}]
)"),
      UnorderedElementsAre("spec.volumes[0].hostPath.path: must not contain '..'",
                           "spec.containers[0].env[0].name: \"9\" is not a valid environment "
                           "variable name: it must consist of letters, digits, '_', '-' or '.', "
                           "and must not start with a digit",
                           "spec.containers[0].env[1].name: \"..\" is not a valid environment "
                           "variable name: must not be '..'",
                           "spec.containers[0].env[2].value: must not contain a NUL character",
                           "spec.containers[0].volumeMounts[0].mountPath: must not contain '..'"));
}

}  // namespace
}  // namespace podshim::shim
