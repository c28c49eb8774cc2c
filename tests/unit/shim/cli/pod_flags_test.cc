// The run/start command line: a bad --id or --cgroup-parent is refused while the options are
// parsed (exit 2 before anything is created), with an error naming the option.
#include "shim/cli/pod_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace podshim::shim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Result<PodOptions> Parse(std::vector<std::string> args, PodCommand command = PodCommand::kRun) {
  args.insert(args.begin(), command == PodCommand::kRun ? "run" : "start");
  args.push_back("pod.yaml");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  Result<PodCommandLine> line = ParsePodOptions(argv, command);
  if (!line) return line.error();
  EXPECT_FALSE(line->help);
  return line->options;
}

// The raw result, for help and positional checks.
Result<PodCommandLine> ParseLine(std::vector<std::string> args, PodCommand command) {
  args.insert(args.begin(), "start");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParsePodOptions(argv, command);
}

TEST(PodOptionsTest, GoodIdAndCgroupParentAreKept) {
  auto o = Parse({"--id", "web-1.a_b+c", "--cgroup-parent=/a/b/"});
  ASSERT_TRUE(o.has_value()) << o.error().ToString();
  EXPECT_EQ(o->id, "web-1.a_b+c");
  EXPECT_EQ(o->cgroup_parent, "/a/b/");
  EXPECT_EQ(o->manifest, "pod.yaml");
}

TEST(PodOptionsTest, IdThatIsNotOneFileNameIsRefused) {
  for (std::string bad :
       std::vector<std::string>{"../x", "a/b", "..", ".", "a b", "x\n", std::string(252, 'a')}) {
    for (bool inline_form : {false, true}) {
      auto o = inline_form ? Parse({"--id=" + bad}) : Parse({"--id", bad});
      ASSERT_FALSE(o.has_value()) << "accepted --id " << bad;
      EXPECT_EQ(o.error().code(), make_error_code(ErrorCode::kInvalidSpec)) << bad;
      EXPECT_THAT(o.error().ToString(), StartsWith("--id: ")) << bad;
    }
  }
  EXPECT_TRUE(Parse({"--id", std::string(251, 'a')}).has_value());
}

TEST(PodOptionsTest, CgroupParentThatEscapesIsRefused) {
  for (std::string bad : {"a/../b", "..", "a//b", "./a"}) {
    auto o = Parse({"--cgroup-parent", bad});
    ASSERT_FALSE(o.has_value()) << "accepted --cgroup-parent " << bad;
    EXPECT_EQ(o.error().code(), make_error_code(ErrorCode::kInvalidSpec)) << bad;
    EXPECT_THAT(o.error().ToString(), StartsWith("--cgroup-parent: ")) << bad;
    EXPECT_THAT(o.error().ToString(), HasSubstr("bad cgroup path")) << bad;
  }
}

TEST(PodOptionsTest, EveryOptionInBothSpellings) {
  for (bool inline_form : {false, true}) {
    std::vector<std::pair<std::string, std::string>> given = {{"--id", "p1"},
                                                              {"--state-dir", "/s"},
                                                              {"--cgroup-parent", "a/b"},
                                                              {"--log-dir", "/l"},
                                                              {"--log-level", "debug"},
                                                              {"--backoff-initial", "2s"},
                                                              {"--backoff-max", "1m"},
                                                              {"--pid-file", "/p"},
                                                              {"--pod-pids-limit", "64"},
                                                              {"--cpu-cfs-period", "50ms"},
                                                              {"--cpu-weight-formula", "linear"}};
    std::vector<std::string> args;
    for (const auto& [name, value] : given) {
      if (inline_form) {
        args.push_back(name + "=" + value);
      } else {
        args.push_back(name);
        args.push_back(value);
      }
    }
    for (const char* flag :
         {"--cgroup-required", "--memory-qos", "--single-process-oom-kill", "--no-cpu-cfs-quota"}) {
      args.emplace_back(flag);
    }
    auto o = Parse(args, PodCommand::kStart);
    ASSERT_TRUE(o.has_value()) << o.error().ToString();
    EXPECT_EQ(o->id, "p1");
    EXPECT_EQ(o->state_dir, "/s");
    EXPECT_EQ(o->cgroup_parent, "a/b");
    EXPECT_EQ(o->log_dir, "/l");
    EXPECT_EQ(o->log_level, "debug");
    EXPECT_EQ(o->backoff_initial, std::chrono::seconds(2));
    EXPECT_EQ(o->backoff_max, std::chrono::minutes(1));
    EXPECT_EQ(o->pid_file, "/p");
    EXPECT_TRUE(o->cgroup_required);
    EXPECT_EQ(o->values.pod_pids_limit, 64);
    EXPECT_EQ(o->values.cpu_cfs_period_us, 50000);
    EXPECT_EQ(o->values.cpu_weight_formula, cgroups::CpuWeightFormula::kLinear);
    EXPECT_TRUE(o->values.memory_qos);
    EXPECT_TRUE(o->values.single_process_oom_kill);
    EXPECT_FALSE(o->values.cpu_cfs_quota);
    EXPECT_EQ(o->manifest, "pod.yaml");
  }
}

TEST(PodOptionsTest, DefaultsWhenNothingIsGiven) {
  auto o = Parse({});
  ASSERT_TRUE(o.has_value()) << o.error().ToString();
  EXPECT_EQ(o->cgroup_parent, "podshim");
  EXPECT_EQ(o->log_level, "info");
  EXPECT_EQ(o->backoff_initial, std::chrono::seconds(10));
  EXPECT_EQ(o->backoff_max, std::chrono::seconds(300));
  EXPECT_FALSE(o->cgroup_required);
  EXPECT_EQ(o->pid_file, "");
}

TEST(PodOptionsTest, UsageErrorsNameTheOption) {
  auto unknown = Parse({"--pid-file", "x"});  // start only
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().ToString(), "unknown option --pid-file");
  auto escaped = Parse({"--i\nd"});
  ASSERT_FALSE(escaped.has_value());
  EXPECT_EQ(escaped.error().ToString(), "unknown option \"--i\\nd\"");
  auto missing = ParseLine({"--pid-file"}, PodCommand::kStart);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().ToString(), "--pid-file: missing value");
  auto empty = Parse({"--state-dir="});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().ToString(), "--state-dir: empty value");
  auto flag_value = Parse({"--cgroup-required=yes"});
  ASSERT_FALSE(flag_value.has_value());
  EXPECT_EQ(flag_value.error().ToString(), "--cgroup-required: takes no value");
  auto duration = Parse({"--backoff-max", "soon"});
  ASSERT_FALSE(duration.has_value());
  EXPECT_THAT(duration.error().ToString(), StartsWith("--backoff-max: "));
}

TEST(PodOptionsTest, OneManifestAfterTheOptions) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{}, {"a.yaml", "b.yaml"}, {"a.yaml", "--id", "x"}}) {
    auto r = ParseLine(args, PodCommand::kRun);
    ASSERT_FALSE(r.has_value()) << args.size();
    EXPECT_EQ(r.error().ToString(), "expected one MANIFEST argument (options come first)");
  }
  auto dashes = ParseLine({"--id", "x", "--", "-odd.yaml"}, PodCommand::kRun);
  ASSERT_TRUE(dashes.has_value()) << dashes.error().ToString();
  EXPECT_EQ(dashes->options.manifest, "-odd.yaml");
}

TEST(PodOptionsTest, HelpWinsAndListsEveryOption) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--help"}, {"-h"}, {"--id", "../bad", "-h"}, {"pod.yaml", "--help"}}) {
    auto r = ParseLine(args, PodCommand::kStart);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_TRUE(r->help);
  }
  auto after_dashes = ParseLine({"--", "--help"}, PodCommand::kRun);
  ASSERT_TRUE(after_dashes.has_value());
  EXPECT_FALSE(after_dashes->help);
  EXPECT_EQ(after_dashes->options.manifest, "--help");

  const std::string start = PodUsage(PodCommand::kStart);
  EXPECT_THAT(start, StartsWith("usage: podshim start [options] MANIFEST\n"));
  for (const char* flag :
       {"--id", "--state-dir", "--cgroup-parent", "--log-dir", "--log-level", "--backoff-initial",
        "--backoff-max", "--cgroup-required", "--pid-file", "--cpu-weight-formula", "--memory-qos",
        "--single-process-oom-kill", "--pod-pids-limit", "--cpu-cfs-period", "--no-cpu-cfs-quota",
        "--help"}) {
    EXPECT_THAT(start, HasSubstr(flag));
  }
  EXPECT_THAT(PodUsage(PodCommand::kRun), StartsWith("usage: podshim run [options] MANIFEST\n"));
  EXPECT_THAT(PodUsage(PodCommand::kRun), Not(HasSubstr("--pid-file")));
}

}  // namespace
}  // namespace podshim::shim
