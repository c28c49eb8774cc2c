// ExecProcessFromFlags: the process `podshim oci exec` builds from the container's spec process
// and runc 1.1.5's flags (args replaced, env and gids appended, cwd and user replaced, caps added).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixtures/bundle.h"
#include "shim/ocirt/oci_exec.h"

namespace podshim::shim {
namespace {

using podshim::testing::DefaultTestSpec;

TEST(ExecProcessFromFlagsTest, KeepsTheSpecProcessAndAppliesTheFlags) {
  oci::Spec spec = DefaultTestSpec({"sleep", "100"});
  spec.process->user.additional_gids = {5};
  spec.process->no_new_privileges = false;
  const size_t env_before = spec.process->env.size();
  OciExecRequest req;
  req.args = {"sh", "-c", "id"};
  req.env = {"FOO=bar"};
  req.cwd = "/tmp";
  req.user = "1000:1001";
  req.additional_gids = {"7"};
  req.caps = {"CAP_SYS_ADMIN"};
  req.no_new_privs = true;
  auto p = ExecProcessFromFlags(spec, req);
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(p->args, req.args);
  ASSERT_EQ(p->env.size(), env_before + 1);
  EXPECT_EQ(p->env.back(), "FOO=bar");
  EXPECT_EQ(p->cwd, "/tmp");
  EXPECT_EQ(p->user.uid, 1000u);
  EXPECT_EQ(p->user.gid, 1001u);
  EXPECT_EQ(p->user.additional_gids, (std::vector<uint32_t>{5, 7}));
  EXPECT_TRUE(p->no_new_privileges);
  EXPECT_FALSE(p->terminal);
  ASSERT_TRUE(p->capabilities);
  for (const auto* set : {&p->capabilities->bounding, &p->capabilities->effective,
                          &p->capabilities->permitted, &p->capabilities->ambient}) {
    ASSERT_FALSE(set->empty());
    EXPECT_EQ(set->back(), "CAP_SYS_ADMIN");
  }
  // runc 1.1.5 leaves the inheritable set alone.
  EXPECT_EQ(p->capabilities->inheritable, spec.process->capabilities->inheritable);
}

TEST(ExecProcessFromFlagsTest, WithoutFlagsTheSpecProcessIsKeptButNotItsTerminal) {
  oci::Spec spec = DefaultTestSpec({"sleep", "100"});
  spec.process->terminal = true;
  OciExecRequest req;
  req.args = {"true"};
  auto p = ExecProcessFromFlags(spec, req);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->terminal) << "as runc: a terminal only with --tty";
  EXPECT_EQ(p->user.uid, spec.process->user.uid);
  EXPECT_EQ(p->cwd, spec.process->cwd);
  req.tty = true;
  EXPECT_TRUE(ExecProcessFromFlags(spec, req)->terminal);
  req.user = "42";
  EXPECT_EQ(ExecProcessFromFlags(spec, req)->user.uid, 42u);
  EXPECT_EQ(ExecProcessFromFlags(spec, req)->user.gid, spec.process->user.gid);
}

TEST(ExecProcessFromFlagsTest, BadFlagsAreNamed) {
  oci::Spec spec = DefaultTestSpec({"sleep", "100"});
  auto error_of = [&](OciExecRequest req) {
    if (req.args.empty()) req.args = {"true"};
    auto p = ExecProcessFromFlags(spec, req);
    return p ? std::string("ok") : p.error().ToString();
  };
  OciExecRequest user;
  user.user = "root";
  EXPECT_EQ(error_of(user), "--user: \"root\" is not UID[:GID]");
  user.user = "1:x";
  EXPECT_EQ(error_of(user), "--user: \"1:x\" is not UID[:GID]");
  user.user = "4294967295";
  EXPECT_EQ(error_of(user), "--user: \"4294967295\" is not UID[:GID]");
  OciExecRequest gids;
  gids.additional_gids = {"-1"};
  EXPECT_EQ(error_of(gids), "--additional-gids: \"-1\" is not a group id");
  oci::Spec no_process = spec;
  no_process.process.reset();
  OciExecRequest req;
  req.args = {"true"};
  EXPECT_FALSE(ExecProcessFromFlags(no_process, req));
  req.args.clear();
  EXPECT_FALSE(ExecProcessFromFlags(spec, req));
}

}  // namespace
}  // namespace podshim::shim
