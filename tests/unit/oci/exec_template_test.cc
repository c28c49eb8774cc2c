// exec_template.h: PrepareExec resolves the capabilities and compiles the seccomp filter once;
// every plan BuildExecPlan makes from the template carries exactly what the per-exec path
// (PlanProcessAttributes from the spec) gives, plans from one template differ only in the exec's
// own fields (pid, argv, fds), and the errors read as before.
#include "oci/exec_template.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstring>
#include <string>
#include <vector>

#include "fixtures/bundle.h"
#include "oci/exec_plan.h"

namespace podshim::oci {
namespace {

using testing::DefaultTestSpec;

// A spec whose process attributes are all set: user, rlimits, capabilities (ambient included),
// noNewPrivileges and a deny-by-default seccomp profile with an allow list.
Spec RichSpec() {
  Spec spec = DefaultTestSpec({"/app", "--serve"});
  spec.process->env = {"PATH=/opt/bin:/bin", "FOO=bar"};
  spec.process->cwd = "/srv//data/";
  spec.process->user.uid = 1000;
  spec.process->user.gid = 1001;
  spec.process->user.additional_gids = {10, 20};
  spec.process->user.umask = 027;
  spec.process->capabilities->inheritable = spec.process->capabilities->bounding;
  spec.process->capabilities->ambient = {"CAP_KILL"};
  LinuxSeccomp seccomp;
  seccomp.default_action = SeccompAction::kErrno;
  SeccompSyscall allow;
  allow.names = {"read", "write", "openat", "close", "exit_group", "execve", "mmap", "brk"};
  allow.action = SeccompAction::kAllow;
  seccomp.syscalls.push_back(allow);
  spec.linux_config.seccomp = seccomp;
  return spec;
}

ExecOptions Opts(pid_t pid, std::vector<std::string> argv) {
  ExecOptions o;
  o.container_id = "web";
  o.container_pid = pid;
  o.argv = std::move(argv);
  return o;
}

bool SameFilter(const SeccompProgram& a, const SeccompProgram& b) {
  return a.flags == b.flags && a.filter.size() == b.filter.size() &&
         std::memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(a.filter[0])) == 0;
}

// Everything an exec plan takes from the spec, compared field by field.
void ExpectSameSpecPart(const LaunchPlan& a, const LaunchPlan& b) {
  EXPECT_EQ(a.cwd, b.cwd);
  EXPECT_EQ(a.envp.items(), b.envp.items());
  ASSERT_EQ(a.rlimits.size(), b.rlimits.size());
  for (size_t i = 0; i < a.rlimits.size(); ++i) {
    EXPECT_EQ(a.rlimits[i].resource, b.rlimits[i].resource);
    EXPECT_EQ(a.rlimits[i].limit.rlim_cur, b.rlimits[i].limit.rlim_cur);
    EXPECT_EQ(a.rlimits[i].limit.rlim_max, b.rlimits[i].limit.rlim_max);
    EXPECT_EQ(a.rlimits[i].name, b.rlimits[i].name);
  }
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.additional_gids, b.additional_gids);
  EXPECT_EQ(a.umask, b.umask);
  EXPECT_EQ(a.no_new_privileges, b.no_new_privileges);
  ASSERT_EQ(a.capabilities.has_value(), b.capabilities.has_value());
  if (a.capabilities) {
    EXPECT_EQ(a.capabilities->bounding, b.capabilities->bounding);
    EXPECT_EQ(a.capabilities->effective, b.capabilities->effective);
    EXPECT_EQ(a.capabilities->permitted, b.capabilities->permitted);
    EXPECT_EQ(a.capabilities->inheritable, b.capabilities->inheritable);
    EXPECT_EQ(a.capabilities->ambient, b.capabilities->ambient);
  }
  ASSERT_EQ(a.seccomp.has_value(), b.seccomp.has_value());
  if (a.seccomp) {
    EXPECT_TRUE(SameFilter(*a.seccomp, *b.seccomp));
  }
  EXPECT_EQ(a.warnings, b.warnings);
  EXPECT_EQ(a.setup_rootfs, b.setup_rootfs);
}

TEST(PrepareExecTest, HoldsWhatThePerExecPathComputes) {
  const Spec spec = RichSpec();
  auto t = PrepareExec(spec, "web");
  ASSERT_TRUE(t) << t.error().ToString();
  // The old path: the attributes read straight from the spec into an exec plan.
  LaunchPlan direct;
  direct.container_id = "web";
  direct.kind = PlanKind::kExec;
  ASSERT_TRUE(PlanProcessAttributes(spec, direct));
  ASSERT_TRUE(t->capabilities && direct.capabilities);
  EXPECT_EQ(t->capabilities->bounding, direct.capabilities->bounding);
  EXPECT_EQ(t->capabilities->ambient, direct.capabilities->ambient);
  EXPECT_NE(t->capabilities->ambient, 0u);  // CAP_KILL is permitted and inheritable here
  ASSERT_TRUE(t->seccomp && direct.seccomp);
  EXPECT_FALSE(t->seccomp->filter.empty());
  EXPECT_TRUE(SameFilter(*t->seccomp, *direct.seccomp));
  EXPECT_EQ(t->cwd, "/srv/data/");
  EXPECT_EQ(t->uid, 1000u);
  EXPECT_EQ(t->umask, 027u);
  EXPECT_TRUE(t->no_new_privileges);
}

TEST(PrepareExecTest, APlanFromTheTemplateEqualsOneFromTheSpec) {
  const Spec spec = RichSpec();
  auto t = PrepareExec(spec, "web");
  ASSERT_TRUE(t) << t.error().ToString();
  const ExecOptions opts = Opts(4242, {"ls", "-l"});
  auto from_template = BuildExecPlan(*t, opts);
  auto from_spec = BuildExecPlan(spec, opts);
  ASSERT_TRUE(from_template) << from_template.error().ToString();
  ASSERT_TRUE(from_spec) << from_spec.error().ToString();
  ExpectSameSpecPart(*from_template, *from_spec);
  EXPECT_EQ(from_template->argv.items(), from_spec->argv.items());
  EXPECT_EQ(from_template->exec_candidates, from_spec->exec_candidates);
  EXPECT_EQ(from_template->exec_candidates, (std::vector<std::string>{"/opt/bin/ls", "/bin/ls"}));
  ASSERT_EQ(from_template->joins.size(), from_spec->joins.size());
  for (size_t i = 0; i < from_spec->joins.size(); ++i) {
    EXPECT_EQ(from_template->joins[i].path, from_spec->joins[i].path);
    EXPECT_EQ(from_template->joins[i].clone_flag, from_spec->joins[i].clone_flag);
  }
  EXPECT_EQ(from_template->pid_ns_path, from_spec->pid_ns_path);
  EXPECT_EQ(from_template->exec_root, from_spec->exec_root);
}

TEST(PrepareExecTest, PlansFromOneTemplateDifferOnlyInTheExecsOwnFields) {
  auto t = PrepareExec(RichSpec(), "web");
  ASSERT_TRUE(t) << t.error().ToString();
  ExecOptions first = Opts(100, {"sh", "-c", "true"});
  ExecOptions second = Opts(200, {"cat", "/etc/hostname"});
  second.stdout_fd = 9;
  second.cgroup_dir_fd = 11;
  auto a = BuildExecPlan(*t, first);
  auto b = BuildExecPlan(*t, second);
  ASSERT_TRUE(a && b);
  ExpectSameSpecPart(*a, *b);
  EXPECT_EQ(a->argv.items(), first.argv);
  EXPECT_EQ(b->argv.items(), second.argv);
  EXPECT_EQ(a->exec_candidates, (std::vector<std::string>{"/opt/bin/sh", "/bin/sh"}));
  EXPECT_EQ(b->exec_candidates, (std::vector<std::string>{"/opt/bin/cat", "/bin/cat"}));
  EXPECT_EQ(a->pid_ns_path, "/proc/100/ns/pid");
  EXPECT_EQ(b->pid_ns_path, "/proc/200/ns/pid");
  ASSERT_FALSE(b->joins.empty());
  EXPECT_EQ(b->joins.back().path, "/proc/200/ns/mnt");
  EXPECT_EQ(a->stdio[1], -1);
  EXPECT_EQ(b->stdio[1], 9);
  EXPECT_EQ(b->cgroup_dir_fd, 11);
  // Each plan's pointer arrays point into its own copies.
  EXPECT_STREQ(a->argv.data()[0], "sh");
  EXPECT_STREQ(a->envp.data()[1], "FOO=bar");
}

TEST(PrepareExecTest, ErrorsReadAsTheyDidPerExec) {
  auto error_of = [](const Spec& spec) {
    auto r = PrepareExec(spec, "web");
    return r ? std::string("ok") : r.error().ToString();
  };
  auto per_exec_error_of = [](const Spec& spec) {
    auto r = BuildExecPlan(spec, Opts(4242, {"true"}));
    return r ? std::string("ok") : r.error().ToString();
  };
  const Spec spec = DefaultTestSpec({"sh"});
  EXPECT_EQ(error_of(spec), "ok");

  Spec no_process = spec;
  no_process.process.reset();
  EXPECT_EQ(error_of(no_process),
            "exec in container \"web\": process: required to exec in a container");

  Spec relative_cwd = spec;
  relative_cwd.process->cwd = "srv";
  EXPECT_EQ(error_of(relative_cwd),
            "exec in container \"web\": process.cwd: \"srv\" is not an absolute path");

  Spec bad_cap = spec;
  bad_cap.process->capabilities->effective.push_back("CAP_FLY");
  EXPECT_EQ(error_of(bad_cap),
            "exec in container \"web\": config.json: process.capabilities.effective[3]: unknown "
            "capability \"CAP_FLY\"");

  Spec bad_seccomp = RichSpec();
  bad_seccomp.linux_config.seccomp->syscalls[0].errno_ret = 1;  // errnoRet with SCMP_ACT_ALLOW
  auto r = PrepareExec(bad_seccomp, "web");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_TRUE(r.error().ToString().starts_with("exec in container \"web\": "));
  EXPECT_NE(r.error().ToString().find("linux.seccomp.syscalls[0]"), std::string::npos)
      << r.error().ToString();

  // The one-shot path gives the same text for each.
  for (const Spec* s : {&no_process, &relative_cwd, &bad_cap, &bad_seccomp}) {
    EXPECT_EQ(per_exec_error_of(*s), error_of(*s));
  }
}

TEST(PrepareExecTest, TheExecsOwnErrorsComeFromBuildExecPlan) {
  auto t = PrepareExec(DefaultTestSpec({"sh"}), "web");
  ASSERT_TRUE(t) << t.error().ToString();
  auto error_of = [&](const ExecOptions& opts) {
    auto r = BuildExecPlan(*t, opts);
    return r ? std::string("ok") : r.error().ToString();
  };
  EXPECT_EQ(error_of(Opts(4242, {})), "exec in container \"web\": argv: needs at least one entry");
  EXPECT_EQ(error_of(Opts(4242, {""})), "exec in container \"web\": argv[0]: must not be empty");
  EXPECT_EQ(error_of(Opts(0, {"true"})),
            "exec in container \"web\": container_pid: 0 is not a process id");
  EXPECT_EQ(error_of(Opts(4242, {"true"})), "ok");
}

}  // namespace
}  // namespace podshim::oci
