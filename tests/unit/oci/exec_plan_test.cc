// exec_plan.h: BuildExecPlan from the container's spec: which namespaces are joined through
// /proc/<pid>/ns/* and in what order, what the plan keeps from the spec's process (env, cwd,
// user, rlimits, capabilities, no_new_privs, seccomp) and what it drops, and its errors.
#include "oci/exec_plan.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "fixtures/bundle.h"

namespace podshim::oci {
namespace {

using testing::DefaultTestSpec;

ExecOptions Opts(std::vector<std::string> argv = {"sh", "-c", "echo hi"}) {
  ExecOptions o;
  o.container_id = "web";
  o.container_pid = 4242;
  o.argv = std::move(argv);
  return o;
}

// The default test spec made richer, so "kept from the spec" is visible.
Spec RichSpec() {
  Spec spec = DefaultTestSpec({"/app", "--serve"});
  spec.process->env = {"PATH=/opt/bin:/bin", "FOO=bar"};
  spec.process->cwd = "/srv//data/";
  spec.process->user.uid = 1000;
  spec.process->user.gid = 1001;
  spec.process->user.additional_gids = {10, 20};
  spec.process->user.umask = 027;
  spec.process->oom_score_adj = 500;
  spec.linux_config.sysctl = {{"net.ipv4.ip_forward", "1"}};
  LinuxSeccomp seccomp;
  SeccompSyscall deny;
  deny.names = {"mkdir"};
  deny.action = SeccompAction::kErrno;
  seccomp.syscalls.push_back(deny);
  spec.linux_config.seccomp = seccomp;
  return spec;
}

std::vector<std::string> JoinPaths(const LaunchPlan& plan) {
  std::vector<std::string> out;
  for (const NamespaceJoin& j : plan.joins) out.push_back(j.path);
  return out;
}

TEST(BuildExecPlanTest, JoinsEveryNamespaceOfTheContainerMountLast) {
  ExecOptions opts = Opts();
  opts.stdin_fd = 5;
  opts.stdout_fd = 6;
  opts.stderr_fd = 7;
  opts.cgroup_dir_fd = 8;
  auto plan = BuildExecPlan(DefaultTestSpec({"sh"}), opts);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->kind, PlanKind::kExec);
  EXPECT_EQ(plan->container_id, "web");
  EXPECT_EQ(plan->clone_flags, 0u);
  // Spec order pid, network, ipc, uts, mount, cgroup: pid is not a setns step, mount moves last.
  EXPECT_EQ(JoinPaths(*plan),
            (std::vector<std::string>{"/proc/4242/ns/net", "/proc/4242/ns/ipc", "/proc/4242/ns/uts",
                                      "/proc/4242/ns/cgroup", "/proc/4242/ns/mnt"}));
  ASSERT_EQ(plan->joins.size(), 5u);
  EXPECT_EQ(plan->joins[0].type, NamespaceType::kNetwork);
  EXPECT_EQ(plan->joins[0].clone_flag, CLONE_NEWNET);
  EXPECT_EQ(plan->joins[3].clone_flag, CLONE_NEWCGROUP);
  EXPECT_EQ(plan->joins[4].type, NamespaceType::kMount);
  EXPECT_EQ(plan->joins[4].clone_flag, CLONE_NEWNS);
  EXPECT_EQ(plan->pid_ns_path, "/proc/4242/ns/pid");
  EXPECT_EQ(plan->stdio[0], 5);
  EXPECT_EQ(plan->stdio[1], 6);
  EXPECT_EQ(plan->stdio[2], 7);
  EXPECT_EQ(plan->cgroup_dir_fd, 8);
  EXPECT_TRUE(plan->extra_fds.empty());
  EXPECT_EQ(plan->gate, StartGate::kNone);
}

TEST(BuildExecPlanTest, UserNamespaceIsJoinedFirst) {
  Spec spec = DefaultTestSpec({"sh"});
  spec.linux_config.namespaces = {{NamespaceType::kMount, std::nullopt},
                                  {NamespaceType::kUts, std::nullopt},
                                  {NamespaceType::kUser, std::nullopt},
                                  {NamespaceType::kTime, std::nullopt}};
  spec.linux_config.uid_mappings = {{0, 100000, 65536}};
  spec.linux_config.gid_mappings = {{0, 100000, 65536}};
  auto plan = BuildExecPlan(spec, Opts());
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(JoinPaths(*plan),
            (std::vector<std::string>{"/proc/4242/ns/user", "/proc/4242/ns/uts",
                                      "/proc/4242/ns/time", "/proc/4242/ns/mnt"}));
  EXPECT_EQ(plan->joins[0].clone_flag, CLONE_NEWUSER);
  EXPECT_EQ(plan->joins[2].clone_flag, CLONE_NEWTIME);
  // The container's maps are already written: nothing to write for a joined namespace.
  EXPECT_EQ(plan->uid_map, "");
  EXPECT_EQ(plan->gid_map, "");
  // No pid namespace in the spec: the process stays in the caller's.
  EXPECT_EQ(plan->pid_ns_path, "");
}

TEST(BuildExecPlanTest, NamespacesTheContainerJoinedByPathAreReachedThroughItsPid) {
  // The container's init is in them already; /proc/<pid>/ns is where they are for sure.
  Spec spec = DefaultTestSpec({"sh"});
  for (Namespace& ns : spec.linux_config.namespaces) {
    if (ns.type == NamespaceType::kNetwork) ns.path = "/run/netns/shared";
  }
  auto plan = BuildExecPlan(spec, Opts());
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->joins[0].path, "/proc/4242/ns/net");
}

TEST(BuildExecPlanTest, KeepsTheSpecProcessAttributes) {
  auto plan = BuildExecPlan(RichSpec(), Opts({"ls", "-l"}));
  ASSERT_TRUE(plan) << plan.error().ToString();
  ASSERT_EQ(plan->argv.size(), 2u);
  EXPECT_STREQ(plan->argv.data()[0], "ls");
  EXPECT_STREQ(plan->argv.data()[1], "-l");
  EXPECT_EQ(plan->argv.data()[2], nullptr);
  EXPECT_EQ(plan->envp.items(), (std::vector<std::string>{"PATH=/opt/bin:/bin", "FOO=bar"}));
  // The lookup uses opts.argv[0] and the spec env's PATH.
  EXPECT_EQ(plan->exec_candidates, (std::vector<std::string>{"/opt/bin/ls", "/bin/ls"}));
  EXPECT_EQ(plan->cwd, "/srv/data/");
  EXPECT_EQ(plan->uid, 1000u);
  EXPECT_EQ(plan->gid, 1001u);
  EXPECT_EQ(plan->additional_gids, (std::vector<gid_t>{10, 20}));
  EXPECT_EQ(plan->umask, 027u);
  ASSERT_EQ(plan->rlimits.size(), 1u);
  EXPECT_EQ(plan->rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(plan->rlimits[0].name, "RLIMIT_NOFILE");
  ASSERT_TRUE(plan->capabilities);
  const uint64_t three = (1ULL << 29) | (1ULL << 5) | (1ULL << 10);
  EXPECT_EQ(plan->capabilities->bounding, three);
  EXPECT_EQ(plan->capabilities->effective, three);
  EXPECT_EQ(plan->capabilities->permitted, three);
  EXPECT_TRUE(plan->no_new_privileges);
  ASSERT_TRUE(plan->seccomp);
  EXPECT_FALSE(plan->seccomp->filter.empty());
}

TEST(BuildExecPlanTest, DropsWhatOnlyTheContainerSetUp) {
  auto plan = BuildExecPlan(RichSpec(), Opts());
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_FALSE(plan->setup_rootfs);
  EXPECT_EQ(plan->rootfs, "");
  EXPECT_TRUE(plan->rootfs_steps.empty());
  EXPECT_TRUE(plan->masked_paths.empty());
  EXPECT_TRUE(plan->readonly_paths.empty());
  EXPECT_FALSE(plan->readonly_rootfs);
  EXPECT_TRUE(plan->sysctls.empty());
  EXPECT_FALSE(plan->hostname);
  EXPECT_FALSE(plan->domainname);
  EXPECT_FALSE(plan->oom_score_adj);
}

TEST(BuildExecPlanTest, ATerminalInTheSpecDoesNotMatter) {
  // process.terminal belongs to process.args, which argv replaces.
  Spec spec = DefaultTestSpec({"sh"});
  spec.process->terminal = true;
  EXPECT_TRUE(BuildExecPlan(spec, Opts()));
}

TEST(BuildExecPlanTest, ErrorsNameTheField) {
  // Every error starts with the container; the rest names the field.
  auto error_of = [](const Spec& spec, const ExecOptions& opts) {
    auto r = BuildExecPlan(spec, opts);
    if (r) return std::string("ok");
    const std::string text = r.error().ToString();
    const std::string prefix = "exec in container \"web\": ";
    return text.starts_with(prefix) ? text.substr(prefix.size()) : "no prefix: " + text;
  };
  auto code_of = [](const Spec& spec, const ExecOptions& opts) {
    auto r = BuildExecPlan(spec, opts);
    return r ? std::error_code() : r.error().code();
  };
  const Spec spec = DefaultTestSpec({"sh"});

  EXPECT_EQ(error_of(spec, Opts({})), "argv: needs at least one entry");
  EXPECT_EQ(code_of(spec, Opts({})), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_EQ(error_of(spec, Opts({""})), "argv[0]: must not be empty");

  ExecOptions no_pid = Opts();
  no_pid.container_pid = -1;
  EXPECT_EQ(error_of(spec, no_pid), "container_pid: -1 is not a process id");
  EXPECT_EQ(code_of(spec, no_pid), make_error_code(ErrorCode::kInvalidSpec));
  no_pid.container_pid = 0;
  EXPECT_EQ(error_of(spec, no_pid), "container_pid: 0 is not a process id");

  Spec no_process = spec;
  no_process.process.reset();
  EXPECT_EQ(error_of(no_process, Opts()), "process: required to exec in a container");

  Spec relative_cwd = spec;
  relative_cwd.process->cwd = "srv";
  EXPECT_EQ(error_of(relative_cwd, Opts()), "process.cwd: \"srv\" is not an absolute path");

  Spec bad_cap = spec;
  bad_cap.process->capabilities->effective.push_back("CAP_FLY");
  EXPECT_NE(error_of(bad_cap, Opts()).find("process.capabilities.effective[3]"), std::string::npos)
      << error_of(bad_cap, Opts());
}

TEST(BuildExecPlanTest, WithoutAMountNamespaceTheProcessChrootsIntoTheContainersRoot) {
  Spec spec = DefaultTestSpec({"sleep", "100"});
  std::erase_if(spec.linux_config.namespaces,
                [](const Namespace& ns) { return ns.type == NamespaceType::kMount; });
  auto plan = BuildExecPlan(spec, Opts());
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->exec_root, "/proc/4242/root");
  EXPECT_FALSE(plan->setup_rootfs);
  for (const NamespaceJoin& j : plan->joins) EXPECT_NE(j.type, NamespaceType::kMount);
}

TEST(ProcNamespaceNameTest, NamesUnderProcPidNs) {
  EXPECT_STREQ(ProcNamespaceName(NamespaceType::kNetwork), "net");
  EXPECT_STREQ(ProcNamespaceName(NamespaceType::kMount), "mnt");
  EXPECT_STREQ(ProcNamespaceName(NamespaceType::kPid), "pid");
  EXPECT_STREQ(ProcNamespaceName(NamespaceType::kUser), "user");
  EXPECT_STREQ(ProcNamespaceName(NamespaceType::kCgroup), "cgroup");
  EXPECT_STREQ(ProcNamespaceName(NamespaceType::kTime), "time");
}

TEST(BuildExecPlanTest, AmbientCapsTheKernelCannotRaiseAreDroppedWithoutAWarning) {
  // The container's own launch already warned; a probe every few seconds must not.
  Spec spec = DefaultTestSpec({"sh"});
  spec.process->capabilities->ambient = spec.process->capabilities->bounding;
  auto plan = BuildExecPlan(spec, Opts());
  ASSERT_TRUE(plan) << plan.error().ToString();
  ASSERT_TRUE(plan->capabilities);
  EXPECT_EQ(plan->capabilities->ambient, 0u);
  EXPECT_TRUE(plan->warnings.empty());
}

}  // namespace
}  // namespace podshim::oci
