// The manifest reader on hostile and huge input (issue 12): inputs that hung, crashed or stalled
// it are refused (or read) at once with the limit named; reading a file is bounded; and
// `validate` (CheckManifest/CheckManifestFile) and `run` (ParseManifest/LoadManifest) give the
// same verdict on each. Large inputs are generated here; the small crashers are fixture files.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "shim/manifest/manifest.h"
#include "shim/pod/resource_mapping.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

const fs::path kCrashers = fs::path(PODSHIM_SOURCE_DIR) / "tests/fixtures/data/manifest-crashers";

const std::string kHead = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n";

std::string WithSpec(const std::string& spec_lines) { return kHead + "spec:\n" + spec_lines; }

// The verdicts of validate (CheckManifest) and run (ParseManifest) on one text: both refuse with
// the same lines, or both accept. Returns validate's lines.
std::vector<std::string> SameVerdict(std::string_view text) {
  ManifestCheck check = CheckManifest(text, "/m/pod.yaml");
  Result<Pod> parsed = ParseManifest(text, "/m/pod.yaml");
  EXPECT_EQ(check.errors.empty(), parsed.has_value());
  std::vector<std::string> lines;
  std::string joined;
  for (const Error& e : check.errors) {
    lines.push_back(e.ToString());
    joined += (joined.empty() ? "" : "\n") + e.ToString();
  }
  if (!parsed) {
    EXPECT_EQ(parsed.error().code(), make_error_code(ErrorCode::kInvalidSpec));
    EXPECT_EQ(parsed.error().ToString(), joined);
  }
  return lines;
}

class ManifestFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/podshim-manifest-limits-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // validate's and run's verdicts on a file: the same problem lines (run prefixes the path).
  std::vector<std::string> SameFileVerdict(const fs::path& p) {
    ManifestCheck check = CheckManifestFile(p);
    Result<Pod> loaded = LoadManifest(p);
    EXPECT_EQ(check.errors.empty(), loaded.has_value());
    std::vector<std::string> lines;
    std::string joined;
    for (const Error& e : check.errors) {
      lines.push_back(e.ToString());
      joined += (joined.empty() ? "" : "\n") + p.string() + ": " + e.ToString();
    }
    if (!loaded) {
      EXPECT_EQ(loaded.error().ToString(), joined);
    }
    return lines;
  }

  fs::path dir_;
};

// yaml-cpp 0.7 never returned on these two files (and grew to gigabytes).
TEST(ManifestCrashersTest, InputsThatHungAreSyntaxErrors) {
  EXPECT_THAT(SameVerdict("!,"),
              ElementsAre("invalid YAML or JSON at line 1, column 2: did not find expected "
                          "whitespace or line break (while scanning a tag at line 1, column 1)"));
  EXPECT_THAT(SameVerdict(std::string_view(",+\0", 3)),
              ElementsAre("invalid YAML or JSON at byte 2: control characters are not allowed "
                          "(byte 0x00)"));
}

TEST_F(ManifestFileTest, EveryCrasherFileIsRefusedByValidateAndRunAlike) {
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(kCrashers)) {
    SCOPED_TRACE(entry.path());
    ++files;
    std::vector<std::string> lines = SameFileVerdict(entry.path());
    ASSERT_FALSE(lines.empty());
  }
  EXPECT_GE(files, 4u);
  EXPECT_THAT(SameFileVerdict(kCrashers / "billion-laughs.yaml"),
              ElementsAre("metadata.annotations.l5[7]: more than the 1000000-node limit "
                          "(aliases counted as copies)"));
  std::string path = "spec.containers[0].args";
  for (int i = 0; i < 60; ++i) path += "[0]";
  EXPECT_THAT(SameFileVerdict(kCrashers / "deep-nesting.yaml"),
              ElementsAre(path + ": nested deeper than the 64-level limit"));
}

// std::regex recursed per digit and overflowed the stack: a scalar of 200,000 digits (under the
// scalar limit) is an integer out of range; 400,000 digits is over the scalar limit.
TEST(ManifestLimitsTest, HugeNumbersAreErrorsNotCrashes) {
  const std::string spec_tail = "  containers: [{name: a, bundle: b}]\n";
  EXPECT_THAT(SameVerdict(WithSpec("  terminationGracePeriodSeconds: " + std::string(200'000, '1') +
                                   "\n" + spec_tail)),
              ElementsAre("spec.terminationGracePeriodSeconds: integer out of range"));
  EXPECT_THAT(SameVerdict(WithSpec("  terminationGracePeriodSeconds: " + std::string(400'000, '1') +
                                   "\n" + spec_tail)),
              ElementsAre("spec.terminationGracePeriodSeconds: scalar longer than the 256 KiB "
                          "limit"));
  EXPECT_THAT(
      SameVerdict(WithSpec("  hostNetwork: " + std::string(200'000, '1') + ".5\n" + spec_tail)),
      ElementsAre("spec.hostNetwork: expected a boolean"));
  // A quantity is read by the quantity parser, which refuses it at once with a short message.
  EXPECT_THAT(
      SameVerdict(WithSpec("  volumes: [{name: v, emptyDir: {sizeLimit: " +
                           std::string(200'000, '1') + "}}]\n" + spec_tail)),
      ElementsAre("spec.volumes[0].emptyDir.sizeLimit: invalid quantity "
                  "\"11111111111111111111111111111111\"... (200000 characters): longer than the "
                  "64-character limit"));
}

// The issue's alias bomb: a 1 MiB anchored string used 1,000 times (10 s and gigabytes before).
TEST(ManifestLimitsTest, AliasBombIsRefusedAtOnce) {
  std::string doc = kHead.substr(0, kHead.find("metadata")) + "metadata:\n  name: p\n" +
                    "  annotations: {a: &a \"" + std::string(1 << 20, 'x') + "\"}\n" +
                    "spec:\n  containers:\n  - name: a\n    bundle: b\n    args: [";
  for (int i = 0; i < 1000; ++i) doc += i ? ", *a" : "*a";
  doc += "]\n";
  EXPECT_THAT(SameVerdict(doc),
              ElementsAre("metadata.annotations.a: scalar longer than the 256 KiB limit"));
  // Small anchors used a few times are fine: aliases expand as Kubernetes expands them.
  Pod pod = ParseManifest(WithSpec("  containers:\n  - name: a\n    bundle: b\n"
                                   "    command: &c [sh, -c, run]\n"
                                   "  - {name: b, bundle: b, command: *c}\n"),
                          "/m/pod.yaml")
                .value();
  EXPECT_EQ(pod.spec.containers.at(1).command, pod.spec.containers.at(0).command);
}

// 100,000 labels took 30 s and more (a quadratic duplicate check). Read whole, in one pass, and
// a duplicate is still found.
TEST(ManifestLimitsTest, OneHundredThousandLabelsAreReadInLinearTime) {
  std::string doc = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n";
  for (int i = 0; i < 100'000; ++i) doc += "    k" + std::to_string(i) + ": v\n";
  doc += "    k7: again\nspec:\n  containers: [{name: a, bundle: b}]\n";
  ManifestCheck check = CheckManifest(doc, "/m/pod.yaml");
  ASSERT_EQ(check.errors.size(), 1u);
  EXPECT_EQ(check.errors[0].ToString(), "metadata.labels.k7: duplicate field");
  ASSERT_TRUE(check.partial);
  EXPECT_EQ(check.partial->metadata.labels.size(), 100'000u);
}

// The same for resource names (the reader's check and the request/limit pairing of `run`).
TEST(ManifestLimitsTest, ManyResourceNamesAreReadInLinearTime) {
  std::string requests = "      requests:\n";
  std::string limits = "      limits:\n";
  for (int i = 0; i < 20'000; ++i) {
    requests += "        example.com/r" + std::to_string(i) + ": 1\n";
    limits += "        example.com/r" + std::to_string(19'999 - i) + ": 1\n";
  }
  const std::string head = "  containers:\n  - name: a\n    bundle: b\n    resources:\n";
  Pod pod = ParseManifest(WithSpec(head + requests + limits), "/m/pod.yaml").value();
  EXPECT_EQ(pod.spec.containers.at(0).resources.limits.size(), 20'000u);
  EXPECT_TRUE(MapPodResources(pod.spec));
  ManifestCheck check = CheckManifest(
      WithSpec(head + requests + limits + "        example.com/r9: 2\n"), "/m/pod.yaml");
  ASSERT_EQ(check.errors.size(), 1u);
  EXPECT_EQ(check.errors[0].ToString(),
            "spec.containers[0].resources.limits.example.com/r9: duplicate field");
}

// And for volume mounts, each looking up its volume.
TEST(ManifestLimitsTest, ManyVolumeMountsAreCheckedInLinearTime) {
  std::string volumes = "  volumes:\n";
  std::string mounts;
  for (int i = 0; i < 20'000; ++i) {
    volumes += "  - {name: v" + std::to_string(i) + ", emptyDir: {}}\n";
    mounts += "    - {name: v" + std::to_string(19'999 - i) + ", mountPath: /m/" +
              std::to_string(i) + "}\n";
  }
  ManifestCheck check = CheckManifest(
      WithSpec(volumes + "  containers:\n  - name: a\n    bundle: b\n    volumeMounts:\n" + mounts +
               "    - {name: nope, mountPath: /n}\n"),
      "/m/pod.yaml");
  ASSERT_EQ(check.errors.size(), 1u);
  EXPECT_EQ(check.errors[0].ToString(),
            "spec.containers[0].volumeMounts[20000].name: volume \"nope\" not found in "
            "spec.volumes");
  ASSERT_TRUE(check.partial);
  EXPECT_EQ(check.partial->spec.containers.at(0).volume_mounts.size(), 20'001u);
}

// The rest of the issue's point 4: each accepted or refused by both, with the same words.
TEST(ManifestLimitsTest, ValidateAndRunAgreeOnTheIssuesManifests) {
  EXPECT_THAT(SameVerdict(WithSpec("  volumes: [{name: v, emptyDir: {}}]\n"
                                   "  containers: [{name: a, bundle: b, volumeMounts: "
                                   "[{name: v, mountPath: /x/../etc}]}]\n")),
              ElementsAre("spec.containers[0].volumeMounts[0].mountPath: must not contain '..'"));
  EXPECT_THAT(SameVerdict(WithSpec("  volumes: [{name: v, hostPath: {path: /srv/..}}]\n"
                                   "  containers: [{name: a, bundle: b}]\n")),
              ElementsAre("spec.volumes[0].hostPath.path: must not contain '..'"));
  EXPECT_THAT(SameVerdict(WithSpec("  containers: [{name: a, bundle: b, command: []}]\n")),
              ElementsAre());
  EXPECT_THAT(SameVerdict(WithSpec("  volumes: [{name: v, emptyDir: {sizeLimit: 100Ei}}]\n"
                                   "  containers: [{name: a, bundle: b}]\n")),
              ElementsAre("spec.volumes[0].emptyDir.sizeLimit: invalid quantity \"100Ei\": out of "
                          "range"));
  EXPECT_THAT(SameVerdict(WithSpec("  containers: [{name: a, bundle: b, env: [{name: \"A\\0\", "
                                   "value: x}, {name: B, value: \"\\0\"}]}]\n")),
              ElementsAre("spec.containers[0].env[0].name: must not contain a NUL character",
                          "spec.containers[0].env[1].value: must not contain a NUL character"));
}

TEST_F(ManifestFileTest, AFileOverTheSizeLimitIsNotReadWhole) {
  const fs::path p = dir_ / "big.yaml";
  {
    std::ofstream out(p);
    out << kHead << "spec: {containers: [{name: a, bundle: b}]}\n";
    out << std::string(kMaxManifestBytes, '#');  // one long comment
  }
  // A sparse 64 GiB file (no disk used): a reader that did not stop at the limit would run out
  // of memory or time here.
  fs::resize_file(p, uint64_t{1} << 36);
  EXPECT_THAT(SameFileVerdict(p), ElementsAre("manifest: larger than the 3 MiB limit"));
  EXPECT_THAT(SameVerdict(std::string(kMaxManifestBytes + 1, ' ')),
              ElementsAre("manifest: larger than the 3 MiB limit"));
  EXPECT_THAT(SameVerdict(std::string(kMaxManifestBytes, ' ')),
              ElementsAre("manifest: empty document"));
}

// A FIFO blocked the open (no writer) and /dev/zero never ended: both are refused unread.
TEST_F(ManifestFileTest, OnlyRegularFilesAreRead) {
  const fs::path fifo = dir_ / "pod.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(SameFileVerdict(fifo), ElementsAre("manifest: not a regular file (a FIFO)"));
  EXPECT_THAT(SameFileVerdict("/dev/zero"),
              ElementsAre("manifest: not a regular file (a character device)"));
  EXPECT_THAT(SameFileVerdict(dir_), ElementsAre("manifest: not a regular file (a directory)"));
}

}  // namespace
}  // namespace podshim::shim
