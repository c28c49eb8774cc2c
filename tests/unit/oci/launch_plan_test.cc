// launch_plan.h: BuildLaunchPlan from specs (namespaces, id maps, paths under the rootfs,
// masked/read-only paths, sysctl, rlimits, capabilities), the PATH lookup precomputation and
// CStringArray's pointer stability.
#include "oci/launch_plan.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include <cstring>
#include <string>

#include "fixtures/bundle.h"
#include "oci/spec_parse.h"

namespace podshim::oci {
namespace {

using testing::DefaultTestSpec;

const std::filesystem::path kBundle = "/nonexistent/bundle";

Result<LaunchPlan> Build(const Spec& spec, LaunchOptions opts = {}) {
  opts.container_id = "web";
  return BuildLaunchPlan(spec, kBundle, std::move(opts));
}

TEST(ExecCandidatesTest, BareNamesAreSearchedInTheSpecPath) {
  EXPECT_EQ(ExecCandidates("sh", {"A=1", "PATH=/a:/b/:", "B=2"}),
            (std::vector<std::string>{"/a/sh", "/b/sh", "./sh"}));
}

TEST(ExecCandidatesTest, NamesWithASlashAreUsedAsTheyAre) {
  EXPECT_EQ(ExecCandidates("/bin/x", {"PATH=/a"}), (std::vector<std::string>{"/bin/x"}));
  EXPECT_EQ(ExecCandidates("./x", {}), (std::vector<std::string>{"./x"}));
}

TEST(ExecCandidatesTest, WithoutPathRuncsDefaultIsUsed) {
  EXPECT_EQ(
      ExecCandidates("true", {"HOME=/"}),
      (std::vector<std::string>{"/usr/local/sbin/true", "/usr/local/bin/true", "/usr/sbin/true",
                                "/usr/bin/true", "/sbin/true", "/bin/true"}));
}

TEST(CStringArrayTest, CopiesAndMovesPointIntoTheirOwnStorage) {
  CStringArray a({"x", "a string too long for the small string buffer"});
  CStringArray b = a;
  CStringArray c = std::move(a);
  for (const CStringArray* arr : {&b, &c}) {
    ASSERT_EQ(arr->size(), 2u);
    EXPECT_STREQ(arr->data()[0], "x");
    EXPECT_STREQ(arr->data()[1], "a string too long for the small string buffer");
    EXPECT_EQ(arr->data()[2], nullptr);
    EXPECT_EQ(arr->data()[0], arr->items()[0].data());
  }
  EXPECT_EQ(a.data()[0], nullptr);  // NOLINT(bugprone-use-after-move): emptied, still valid
}

TEST(BuildLaunchPlanTest, DefaultSpec) {
  Spec spec = DefaultTestSpec({"sh", "-c", "echo hi"});
  LaunchOptions opts;
  opts.stdout_fd = 7;
  opts.extra_fds = {9};
  auto plan = Build(spec, std::move(opts));
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->container_id, "web");
  EXPECT_EQ(plan->clone_flags, static_cast<uint64_t>(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                                                     CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWCGROUP));
  EXPECT_TRUE(plan->joins.empty());
  EXPECT_TRUE(plan->uid_map.empty());
  EXPECT_TRUE(plan->setup_rootfs);
  EXPECT_EQ(plan->rootfs, "/nonexistent/bundle/rootfs");
  EXPECT_EQ(plan->rootfs_propagation, MS_SLAVE | MS_REC);
  EXPECT_EQ(plan->hostname, "podshim");
  ASSERT_EQ(plan->argv.size(), 3u);
  EXPECT_STREQ(plan->argv.data()[2], "echo hi");
  EXPECT_EQ(plan->argv.data()[3], nullptr);
  EXPECT_STREQ(plan->envp.data()[1], "TERM=xterm");
  EXPECT_EQ(plan->exec_candidates.front(), "/usr/local/sbin/sh");
  EXPECT_EQ(plan->cwd, "/");
  EXPECT_EQ(plan->rootfs_steps.front().target, "/proc");  // resolved by the child
  EXPECT_EQ(plan->masked_paths.front(), "/proc/acpi");
  EXPECT_EQ(plan->readonly_paths.back(), "/proc/sysrq-trigger");
  ASSERT_EQ(plan->rlimits.size(), 1u);
  EXPECT_EQ(plan->rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(plan->rlimits[0].limit.rlim_cur, 1024u);
  EXPECT_EQ(plan->umask, 022u);
  ASSERT_TRUE(plan->capabilities);
  // CAP_AUDIT_WRITE 29, CAP_KILL 5, CAP_NET_BIND_SERVICE 10.
  const uint64_t three = (1ULL << 29) | (1ULL << 5) | (1ULL << 10);
  EXPECT_EQ(plan->capabilities->bounding, three);
  EXPECT_EQ(plan->capabilities->effective, three);
  EXPECT_EQ(plan->capabilities->inheritable, 0u);
  EXPECT_TRUE(plan->no_new_privileges);
  EXPECT_FALSE(plan->seccomp);
  EXPECT_EQ(plan->stdio[0], -1);
  EXPECT_EQ(plan->stdio[1], 7);
  EXPECT_EQ(plan->extra_fds, std::vector<int>{9});
  EXPECT_EQ(plan->gate, StartGate::kNone);
}

TEST(BuildLaunchPlanTest, AnAbsoluteRootIsKeptAndNormalised) {
  Spec spec = DefaultTestSpec({"true"});
  spec.root.path = "/srv/images/../web/rootfs/";
  auto plan = Build(spec);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->rootfs, "/srv/web/rootfs");
}

TEST(BuildLaunchPlanTest, JoinedNamespacesPutUserFirst) {
  Spec spec = DefaultTestSpec({"true"});
  spec.linux_config.namespaces = {{NamespaceType::kMount, std::nullopt},
                                  {NamespaceType::kNetwork, "/run/netns/a"},
                                  {NamespaceType::kUser, "/proc/42/ns/user"}};
  spec.hostname.reset();
  auto plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->clone_flags, static_cast<uint64_t>(CLONE_NEWNS));
  ASSERT_EQ(plan->joins.size(), 2u);
  EXPECT_EQ(plan->joins[0].type, NamespaceType::kUser);
  EXPECT_EQ(plan->joins[0].clone_flag, CLONE_NEWUSER);
  EXPECT_EQ(plan->joins[1].path, "/run/netns/a");
}

TEST(BuildLaunchPlanTest, AJoinedPidNamespaceIsEnteredAroundTheClone) {
  // setns() cannot move the process itself into a pid namespace: the launcher switches its own
  // pid_for_children instead, so the path is not a setns step of the child.
  Spec spec = DefaultTestSpec({"true"});
  ASSERT_EQ(spec.linux_config.namespaces[0].type, NamespaceType::kPid);
  spec.linux_config.namespaces[0].path = "/proc/42/ns/pid";
  auto plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->pid_ns_path, "/proc/42/ns/pid");
  EXPECT_EQ(plan->clone_flags & CLONE_NEWPID, 0u);
  EXPECT_NE(plan->clone_flags & CLONE_NEWNS, 0u);
  EXPECT_TRUE(plan->joins.empty());
  // A new pid namespace leaves the path empty.
  auto fresh = Build(DefaultTestSpec({"true"}));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->pid_ns_path, "");
  EXPECT_NE(fresh->clone_flags & CLONE_NEWPID, 0u);
}

TEST(BuildLaunchPlanTest, ErrorsOfAContainerPlanNameTheContainer) {
  auto plan = Build(DefaultTestSpec({"true"}));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->kind, PlanKind::kContainer);
  EXPECT_EQ(PlanErrorPrefix(*plan), "container \"web\"");
  plan->kind = PlanKind::kExec;
  EXPECT_EQ(PlanErrorPrefix(*plan), "exec in container \"web\"");
}

TEST(BuildLaunchPlanTest, NewUserNamespaceWritesTheMaps) {
  Spec spec = DefaultTestSpec({"true"});
  spec.linux_config.namespaces.push_back({NamespaceType::kUser, std::nullopt});
  spec.linux_config.uid_mappings = {{0, 100000, 1000}, {1000, 1000, 1}};
  spec.linux_config.gid_mappings = {{0, 200000, 65536}};
  auto plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->uid_map, "0 100000 1000\n1000 1000 1\n");
  EXPECT_EQ(plan->gid_map, "0 200000 65536\n");
  // Device nodes cannot be created in a user namespace: they are bound from the host.
  bool bound_null = false;
  for (const RootfsStep& s : plan->rootfs_steps) {
    bound_null = bound_null || (s.op == RootfsOp::kBind && s.source == "/dev/null");
  }
  EXPECT_TRUE(bound_null);
  spec.linux_config.uid_mappings.clear();
  auto missing = Build(spec);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().ToString(),
            "linux.uidMappings, linux.gidMappings: required with a new user namespace");
}

TEST(BuildLaunchPlanTest, SysctlKeysBecomeProcSysPaths) {
  Spec spec = DefaultTestSpec({"true"});
  spec.linux_config.sysctl = {{"net.ipv4.ip_forward", "1"}};
  auto plan = Build(spec);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->sysctls.size(), 1u);
  EXPECT_EQ(plan->sysctls[0].path, "/proc/sys/net/ipv4/ip_forward");
  EXPECT_EQ(plan->sysctls[0].value, "1");
  spec.linux_config.sysctl = {{"net..x", "1"}};
  auto bad = Build(spec);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().ToString(), "linux.sysctl[\"net..x\"]: not a sysctl name");
}

TEST(BuildLaunchPlanTest, MountEscapingTheRootfsIsRefused) {
  Spec spec = DefaultTestSpec({"true"});
  spec.mounts.push_back({"/tmp/../../../etc", "tmpfs", "tmpfs", {}});
  auto plan = Build(spec);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().ToString(),
            "mounts[7].destination: \"/tmp/../../../etc\" escapes the root filesystem");
}

TEST(BuildLaunchPlanTest, MaskedAndReadonlyPathsMustBeAbsolute) {
  Spec spec = DefaultTestSpec({"true"});
  spec.linux_config.masked_paths.push_back("proc/kcore");
  auto masked = Build(spec);
  ASSERT_FALSE(masked);
  EXPECT_EQ(masked.error().ToString(),
            "linux.maskedPaths[10]: \"proc/kcore\" is not an absolute path");
  spec = DefaultTestSpec({"true"});
  spec.linux_config.readonly_paths = {"/proc//sys/../bus"};
  auto ro = Build(spec);
  ASSERT_TRUE(ro);
  EXPECT_EQ(ro->readonly_paths, std::vector<std::string>{"/proc/bus"});
}

TEST(BuildLaunchPlanTest, ValuesInErrorsAreEscaped) {
  Spec spec = DefaultTestSpec({"true"});
  spec.linux_config.sysctl = {{"net..\n\xff", "1"}};
  auto sysctl = Build(spec);
  ASSERT_FALSE(sysctl);
  EXPECT_EQ(sysctl.error().ToString(), "linux.sysctl[\"net..\\n\\xff\"]: not a sysctl name");
  spec = DefaultTestSpec({"true"});
  spec.linux_config.masked_paths = {"proc/\nk\xff"};
  auto masked = Build(spec);
  ASSERT_FALSE(masked);
  EXPECT_EQ(masked.error().ToString(),
            "linux.maskedPaths[0]: \"proc/\\nk\\xff\" is not an absolute path");
}

TEST(BuildLaunchPlanTest, ATerminalNeedsAConsoleSocketAndASocketNeedsATerminal) {
  Spec spec = DefaultTestSpec({"sh"});
  spec.process->terminal = true;
  spec.process->console_size = ConsoleSize{25, 81};
  auto no_socket = Build(spec);
  ASSERT_FALSE(no_socket);
  EXPECT_EQ(no_socket.error().ToString(),
            "process.terminal: not supported without a console socket (podshim oci create "
            "--console-socket, or podshim oci run in the foreground)");

  LaunchOptions opts;
  opts.console_socket_fd = 7;
  auto plan = Build(spec, opts);
  ASSERT_TRUE(plan) << plan.error().ToString();
  ASSERT_TRUE(plan->terminal.has_value());
  EXPECT_EQ(plan->terminal->socket_fd, 7);
  ASSERT_TRUE(plan->terminal->size.has_value());
  EXPECT_EQ(plan->terminal->size->height, 25u);
  EXPECT_EQ(plan->terminal->size->width, 81u);
  EXPECT_TRUE(plan->terminal->mount_console) << "a new mount namespace: /dev/console too";

  spec.process->terminal = false;
  auto stray = Build(spec, opts);
  ASSERT_FALSE(stray);
  EXPECT_EQ(stray.error().ToString(), "process.terminal: false, but a console socket was given");
  auto none = Build(spec);
  ASSERT_TRUE(none) << none.error().ToString();
  EXPECT_FALSE(none->terminal.has_value());
}

TEST(BuildLaunchPlanTest, UnsupportedAndInvalidSpecs) {
  auto error_of = [](Spec spec) {
    auto r = Build(spec);
    return r ? std::string("ok") : r.error().ToString();
  };
  Spec time_join = DefaultTestSpec({"sh"});
  time_join.linux_config.namespaces.push_back({NamespaceType::kTime, "/proc/1/ns/time"});
  EXPECT_EQ(error_of(time_join),
            "linux.namespaces[6].path: joining an existing time namespace is not supported");

  // Without a mount namespace nothing may be masked or remounted: it would be podshim's own.
  Spec no_mount_ns = DefaultTestSpec({"sh"});
  std::erase_if(no_mount_ns.linux_config.namespaces,
                [](const Namespace& ns) { return ns.type == NamespaceType::kMount; });
  no_mount_ns.linux_config.masked_paths = {"/proc/kcore"};
  EXPECT_EQ(error_of(no_mount_ns),
            "linux.maskedPaths: needs a mount namespace in linux.namespaces (without one the "
            "container shares podshim's)");
  no_mount_ns.linux_config.masked_paths.clear();
  no_mount_ns.linux_config.readonly_paths = {"/proc/sys"};
  EXPECT_NE(error_of(no_mount_ns).find("linux.readonlyPaths: needs a mount namespace"),
            std::string::npos);
  no_mount_ns.linux_config.readonly_paths.clear();
  no_mount_ns.root.readonly = true;
  EXPECT_NE(error_of(no_mount_ns).find("root.readonly: needs a mount namespace"),
            std::string::npos);

  Spec no_uts = DefaultTestSpec({"sh"});
  std::erase_if(no_uts.linux_config.namespaces,
                [](const Namespace& ns) { return ns.type == NamespaceType::kUts; });
  EXPECT_EQ(error_of(no_uts), "hostname: needs a uts namespace in linux.namespaces");

  Spec no_process = DefaultTestSpec({"sh"});
  no_process.process.reset();
  EXPECT_EQ(error_of(no_process), "process: required to start a container");

  Spec bad_cap = DefaultTestSpec({"sh"});
  bad_cap.process->capabilities->effective.push_back("CAP_FLY");
  EXPECT_NE(error_of(bad_cap).find("process.capabilities.effective[3]"), std::string::npos)
      << error_of(bad_cap);
}

TEST(BuildLaunchPlanTest, FifoGateNeedsAPath) {
  LaunchOptions opts;
  opts.gate = StartGate::kFifo;
  auto r = Build(DefaultTestSpec({"sh"}), std::move(opts));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(), "start gate: a fifo path is required");
}

TEST(BuildLaunchPlanTest, SeccompIsCompiledIntoTheplan) {
  Spec spec = DefaultTestSpec({"sh"});
  LinuxSeccomp seccomp;
  SeccompSyscall deny;
  deny.names = {"mkdir"};
  deny.action = SeccompAction::kErrno;
  seccomp.syscalls.push_back(deny);
  spec.linux_config.seccomp = seccomp;
  auto plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  ASSERT_TRUE(plan->seccomp);
  EXPECT_FALSE(plan->seccomp->filter.empty());
}

// CAP_KILL 5, CAP_NET_BIND_SERVICE 10, CAP_AUDIT_WRITE 29.
constexpr uint64_t kKill = 1ULL << 5;
constexpr uint64_t kNetBind = 1ULL << 10;
constexpr uint64_t kAuditWrite = 1ULL << 29;

TEST(BuildLaunchPlanTest, AmbientCapsNotAlsoPermittedAndInheritableAreSkippedWithOneWarning) {
  // `runc spec`'s capabilities: three ambient, no inheritable. The kernel refuses to raise an
  // ambient cap that is not permitted and inheritable; runc and crun skip it.
  Spec spec = DefaultTestSpec({"true"});
  spec.process->capabilities->ambient = spec.process->capabilities->bounding;
  auto plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  ASSERT_TRUE(plan->capabilities);
  EXPECT_EQ(plan->capabilities->ambient, 0u);
  EXPECT_EQ(plan->capabilities->permitted, kKill | kNetBind | kAuditWrite);
  EXPECT_EQ(plan->warnings,
            std::vector<std::string>{
                "container \"web\": process.capabilities.ambient: CAP_KILL, "
                "CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE are not also permitted and inheritable "
                "(the kernel requires both), ignoring"});
}

TEST(BuildLaunchPlanTest, OnlyTheAmbientCapsTheKernelCannotRaiseAreSkipped) {
  Spec spec = DefaultTestSpec({"true"});
  LinuxCapabilities& caps = *spec.process->capabilities;
  caps.inheritable = {"CAP_KILL", "CAP_SYS_ADMIN"};
  // CAP_KILL: permitted and inheritable, kept. CAP_NET_BIND_SERVICE: not inheritable.
  // CAP_SYS_ADMIN: inheritable but not permitted.
  caps.ambient = {"CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_SYS_ADMIN"};
  auto plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->capabilities->ambient, kKill);
  EXPECT_EQ(plan->warnings,
            std::vector<std::string>{
                "container \"web\": process.capabilities.ambient: CAP_NET_BIND_SERVICE, "
                "CAP_SYS_ADMIN are not also permitted and inheritable (the kernel requires "
                "both), ignoring"});

  caps.ambient = {"CAP_NET_BIND_SERVICE"};
  plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->capabilities->ambient, 0u);
  EXPECT_EQ(plan->warnings,
            std::vector<std::string>{
                "container \"web\": process.capabilities.ambient: CAP_NET_BIND_SERVICE is not "
                "also permitted and inheritable (the kernel requires both), ignoring"});
}

TEST(BuildLaunchPlanTest, RaisableAmbientCapsAreKeptWithoutAWarning) {
  Spec spec = DefaultTestSpec({"true"});
  LinuxCapabilities& caps = *spec.process->capabilities;
  caps.inheritable = caps.bounding;
  caps.ambient = caps.bounding;
  auto plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->capabilities->ambient, kKill | kNetBind | kAuditWrite);
  EXPECT_TRUE(plan->warnings.empty());
  // And no capabilities section at all: nothing to say.
  spec.process->capabilities.reset();
  plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_TRUE(plan->warnings.empty());
}

TEST(BuildLaunchPlanTest, RuncSpecConfigPlansNoFailingAmbientCap) {
  // The pod path loads each container's config.json the same way (LoadSpec, then
  // BuildLaunchPlan): a bundle from `runc spec` must plan no ambient cap the child would fail on.
  auto text = sys::ReadFile(std::filesystem::path(PODSHIM_SOURCE_DIR) /
                            "tests/fixtures/data/oci/runc_default.json");
  ASSERT_TRUE(text) << text.error().ToString();
  auto spec = ParseSpec(*text);
  ASSERT_TRUE(spec) << spec.error().ToString();
  ASSERT_FALSE(spec->process->capabilities->ambient.empty());
  spec->process->terminal = false;  // a terminal needs a console socket, not given here
  auto plan = Build(*spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  const CapabilityMasks& m = *plan->capabilities;
  EXPECT_EQ(m.ambient & ~(m.permitted & m.inheritable), 0u);
  EXPECT_EQ(m.ambient, 0u);
  EXPECT_EQ(plan->warnings.size(), 1u);
}

TEST(BuildLaunchPlanTest, WithoutAMountNamespaceTheRootfsIsSetUpInOursAndChrooted) {
  // runtime-spec: a namespace type not listed is inherited from the runtime.
  Spec spec = DefaultTestSpec({"true"});
  std::erase_if(spec.linux_config.namespaces,
                [](const Namespace& ns) { return ns.type == NamespaceType::kMount; });
  spec.linux_config.masked_paths.clear();
  spec.linux_config.readonly_paths.clear();
  auto plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->clone_flags & CLONE_NEWNS, 0u);
  EXPECT_TRUE(plan->setup_rootfs);
  EXPECT_TRUE(plan->chroot_rootfs);
  EXPECT_FALSE(plan->rootfs_steps.empty());
}

TEST(BuildLaunchPlanTest, AJoinedMountNamespaceStillGetsTheRootfsOfTheSpec) {
  Spec spec = DefaultTestSpec({"true"});
  for (Namespace& ns : spec.linux_config.namespaces) {
    if (ns.type == NamespaceType::kMount) ns.path = "/proc/42/ns/mnt";
  }
  auto plan = Build(spec);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->clone_flags & CLONE_NEWNS, 0u);
  EXPECT_TRUE(plan->setup_rootfs);
  EXPECT_FALSE(plan->chroot_rootfs);
  EXPECT_FALSE(plan->rootfs_steps.empty());
  EXPECT_FALSE(plan->masked_paths.empty());
  ASSERT_FALSE(plan->joins.empty());
  EXPECT_EQ(plan->joins.back().path, "/proc/42/ns/mnt");
}

}  // namespace
}  // namespace podshim::oci
