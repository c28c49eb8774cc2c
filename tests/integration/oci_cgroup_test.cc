// `podshim oci` and cgroups, end to end on this host: the cgroup made at linux.cgroupsPath under
// the cgroup2 mount with the process in it and removed at delete, pause/resume, ps, kill --all,
// update, and the warning for controllers the host lacks (a hybrid host has no cpu, memory or
// pids on cgroup2). Every cgroup lives below podshim-itest-<unique>, removed at the end. Root.
#include <algorithm>

#include "oci_cli_fixture.h"

namespace podshim_test {
namespace {

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

std::vector<pid_t> Procs(const fs::path& cgroup) {
  std::vector<pid_t> pids;
  std::istringstream in(ReadText(cgroup / "cgroup.procs"));
  for (pid_t p; in >> p;) pids.push_back(p);
  std::sort(pids.begin(), pids.end());
  return pids;
}

// Needs a cgroup2 mount; containers are placed by the tests' own linux.cgroupsPath below
// parent_, and nothing below it may be left at the end.
class OciCgroupTest : public OciCliFixture {
 protected:
  OciCgroupTest() {
    tmp_prefix_ = "podshim-oci-cg";
    place_cgroups_ = false;  // each test sets linux.cgroupsPath below parent_ itself
  }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts, cgroups)";
    for (const char* m : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
      if (fs::exists(fs::path(m) / "cgroup.controllers") && mount_.empty()) mount_ = m;
    }
    if (mount_.empty()) GTEST_SKIP() << "no cgroup2 mount";
    OciCliFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Letters and digits only: also usable as a systemd slice name without nested slices.
    unique_ = "podshimitest" + std::to_string(::getpid()) + tmp_.filename().string().substr(15);
    parent_ = "/" + unique_;
  }

  void TearDown() override {
    if (tmp_.empty()) return;
    OciCliFixture::TearDown();  // delete --force of every container
    for (const std::string& extra : cleanup_) {
      // Its last processes may still be exiting (EBUSY).
      Eventually([&] { return ::rmdir((mount_ / extra).c_str()) == 0 || errno == ENOENT; });
    }
    EXPECT_FALSE(fs::exists(mount_ / unique_)) << "cgroup left behind";
    ::rmdir((mount_ / unique_).c_str());
  }

  void WriteConfig(const std::string& script, const std::string& cgroups_path,
                   const json& resources = json()) {
    OciCliFixture::WriteConfig(script, [&](json& c) {
      if (!cgroups_path.empty()) c["linux"]["cgroupsPath"] = cgroups_path;
      if (!resources.is_null()) c["linux"]["resources"] = resources;
    });
  }

  std::string Status(const std::string& id) {
    CmdResult r = Podshim({"state", id});
    return r.status == 0 ? json::parse(r.out).value("status", "") : "error: " + r.err;
  }
  pid_t Pid(const std::string& id) {
    CmdResult r = Podshim({"state", id});
    return r.status == 0 ? json::parse(r.out).value("pid", 0) : 0;
  }

  fs::path mount_;
  std::string unique_, parent_;
  std::vector<std::string> cleanup_;  // cgroups a test made itself, deepest first
};

constexpr const char kWait[] = "trap 'exit 0' TERM; while :; do sleep 0.05; done";

TEST_F(OciCgroupTest, CgroupAtCgroupsPathHoldsTheProcessAndGoesAtDelete) {
  WriteConfig(kWait, parent_ + "/web");
  CmdResult c = Podshim({"create", "--bundle", bundle_.string(), "web"});
  ASSERT_EQ(c.status, 0) << c.err;
  const fs::path cg = mount_ / unique_ / "web";
  ASSERT_TRUE(fs::is_directory(cg));
  const pid_t pid = Pid("web");
  EXPECT_EQ(Procs(cg), std::vector<pid_t>{pid}) << "cloned straight into its cgroup";
  EXPECT_NE(ReadText("/proc/" + std::to_string(pid) + "/cgroup").find("0::/" + unique_ + "/web"),
            std::string::npos);
  ASSERT_EQ(Podshim({"start", "web"}).status, 0);
  ASSERT_EQ(Podshim({"kill", "web", "KILL"}).status, 0);
  ASSERT_TRUE(Eventually([&] { return Status("web") == "stopped"; }));
  CmdResult d = Podshim({"delete", "web"});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_FALSE(fs::exists(cg));
  EXPECT_FALSE(fs::exists(mount_ / unique_)) << "the parent podshim created goes too";
}

TEST_F(OciCgroupTest, SystemdFormIsMappedToSliceAndScope) {
  WriteConfig(kWait, unique_ + ".slice:pfx:abc");
  CmdResult c = Podshim({"create", "--bundle", bundle_.string(), "sd"});
  ASSERT_EQ(c.status, 0) << c.err;
  const fs::path cg = mount_ / (unique_ + ".slice") / "pfx-abc.scope";
  EXPECT_EQ(Procs(cg), std::vector<pid_t>{Pid("sd")});
  EXPECT_EQ(Podshim({"delete", "sd"}).status, 0);
  EXPECT_FALSE(fs::exists(mount_ / (unique_ + ".slice")));
}

TEST_F(OciCgroupTest, ForegroundRunRemovesItsCgroup) {
  WriteConfig("cat /proc/self/cgroup", parent_ + "/fg");
  CmdResult r = Podshim({"run", "--bundle", bundle_.string(), "fg"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("0::/"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(mount_ / unique_));
}

// linux.resources.devices becomes a device filter on the container's cgroup: podman's deny-all
// still leaves runc's default devices (/dev/null), but not /dev/zero once linux.devices lists it
// (the spec's device replaces its default, as in runc); without a devices list both open.
TEST_F(OciCgroupTest, DeviceRulesAreEnforcedWithRuncsDefaultsAllowed) {
  const char kScript[] = "echo x > /dev/null && echo null-ok; : < /dev/zero && echo zero-ok";
  config_["linux"]["devices"] = {
      {{"path", "/dev/zero"}, {"type", "c"}, {"major", 1}, {"minor", 5}, {"fileMode", 0666}}};
  WriteConfig(kScript, parent_ + "/dev",
              json{{"devices", {{{"allow", false}, {"access", "rwm"}}}}});
  CmdResult r = Podshim({"run", "--bundle", bundle_.string(), "dev"});
  EXPECT_EQ(r.out, "null-ok\n") << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;

  config_["linux"].erase("resources");
  WriteConfig(kScript, parent_ + "/dev");
  CmdResult open = Podshim({"run", "--bundle", bundle_.string(), "dev"});
  EXPECT_EQ(open.out, "null-ok\nzero-ok\n") << open.err << open.status;
}

// update keeps the device filter create attached: a devices list in --resources is a warning.
TEST_F(OciCgroupTest, UpdateLeavesTheDeviceFilterAndSaysSo) {
  config_["linux"]["devices"] = {
      {{"path", "/dev/zero"}, {"type", "c"}, {"major", 1}, {"minor", 5}, {"fileMode", 0666}}};
  WriteConfig(kWait, parent_ + "/upd", json{{"devices", {{{"allow", false}, {"access", "rwm"}}}}});
  ASSERT_EQ(Podshim({"run", "-d", "--bundle", bundle_.string(), "upd"}).status, 0);
  std::ofstream(tmp_ / "allow.json") << R"({"devices":[{"allow":true,"access":"rwm"}]})";
  CmdResult u =
      PodshimWithStdin({"update", "--resources", "-", "upd"}, (tmp_ / "allow.json").string());
  EXPECT_EQ(u.status, 0) << u.err;
  EXPECT_NE(u.err.find("--resources.devices: update does not change the device filter"),
            std::string::npos)
      << u.err;
  CmdResult e = Podshim({"exec", "upd", "sh", "-c", ": < /dev/zero && echo opened"});
  EXPECT_EQ(e.out, "");
  EXPECT_NE(e.err.find("Operation not permitted"), std::string::npos) << e.err;
}

TEST_F(OciCgroupTest, PauseStopsTheProcessAndResumeContinuesIt) {
  WriteConfig("i=0; while :; do i=$((i+1)); echo $i > /shared/count; sleep 0.02; done",
              parent_ + "/p");
  ASSERT_EQ(Podshim({"run", "-d", "--bundle", bundle_.string(), "p"}).status, 0);
  ASSERT_TRUE(Eventually([&] { return !ReadText(shared_ / "count").empty(); }));
  CmdResult p = Podshim({"pause", "p"});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(Status("p"), "paused");
  EXPECT_EQ(ReadText(mount_ / unique_ / "p" / "cgroup.freeze"), "1\n");
  CmdResult list = Podshim({"list"});
  EXPECT_NE(list.out.find("paused"), std::string::npos) << list.out;
  const std::string frozen_at = ReadText(shared_ / "count");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(ReadText(shared_ / "count"), frozen_at) << "the counter advanced while paused";
  CmdResult again = Podshim({"pause", "p"});
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("already paused"), std::string::npos);
  ASSERT_EQ(Podshim({"resume", "p"}).status, 0);
  EXPECT_EQ(Status("p"), "running");
  EXPECT_TRUE(Eventually([&] { return ReadText(shared_ / "count") != frozen_at; }));
  CmdResult not_paused = Podshim({"resume", "p"});
  EXPECT_EQ(not_paused.status, 1);
  EXPECT_NE(not_paused.err.find("is not paused"), std::string::npos);
}

TEST_F(OciCgroupTest, PsListsThePidsOfTheCgroup) {
  WriteConfig("sleep 1000 & trap 'exit 0' TERM; wait", parent_ + "/ps");
  ASSERT_EQ(Podshim({"run", "-d", "--bundle", bundle_.string(), "ps"}).status, 0);
  const fs::path cg = mount_ / unique_ / "ps";
  ASSERT_TRUE(Eventually([&] { return Procs(cg).size() == 2; }));
  CmdResult j = Podshim({"ps", "--format", "json", "ps"});
  ASSERT_EQ(j.status, 0) << j.err;
  std::vector<pid_t> listed = json::parse(j.out).get<std::vector<pid_t>>();
  EXPECT_EQ(listed, Procs(cg));
  EXPECT_TRUE(std::find(listed.begin(), listed.end(), Pid("ps")) != listed.end());
  CmdResult t = Podshim({"ps", "ps"});
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.out.find("PID"), std::string::npos);
  EXPECT_NE(t.out.find("sleep 1000"), std::string::npos) << t.out;
  EXPECT_EQ(Count(t.out, "\n"), 3u) << "header and the two processes only:\n" << t.out;
}

TEST_F(OciCgroupTest, KillAllReachesAForkedChildAndSucceedsAfterExit) {
  // The init ignores SIGTERM: only kill --all can end the child with it.
  WriteConfig("sleep 1000 & trap '' TERM; while :; do sleep 0.05; done", parent_ + "/k");
  ASSERT_EQ(Podshim({"run", "-d", "--bundle", bundle_.string(), "k"}).status, 0);
  const fs::path cg = mount_ / unique_ / "k";
  const pid_t init = Pid("k");
  pid_t child = 0;
  ASSERT_TRUE(Eventually([&] {
    for (pid_t p : Procs(cg)) {
      if (p != init && ReadText("/proc/" + std::to_string(p) + "/cmdline").starts_with("sleep"))
        child = p;
    }
    return child != 0;
  }));
  CmdResult k = Podshim({"kill", "--all", "k", "TERM"});
  ASSERT_EQ(k.status, 0) << k.err;
  EXPECT_TRUE(Eventually([&] {
    auto procs = Procs(cg);
    return std::find(procs.begin(), procs.end(), child) == procs.end();
  })) << "the child got SIGTERM";
  EXPECT_EQ(Status("k"), "running") << "the init ignores SIGTERM";
  ASSERT_EQ(Podshim({"kill", "--all", "k", "KILL"}).status, 0);
  ASSERT_TRUE(Eventually([&] { return Status("k") == "stopped"; }));
  CmdResult after = Podshim({"kill", "--all", "k", "KILL"});
  EXPECT_EQ(after.status, 0) << "runc's kill --all succeeds after the exit: " << after.err;
  EXPECT_EQ(Podshim({"kill", "k", "KILL"}).status, 1) << "plain kill of a stopped one fails";
}

TEST_F(OciCgroupTest, MissingControllersGiveOneWarningAndCoreFilesAreWritten) {
  const std::string offered = ReadText(mount_ / "cgroup.controllers");
  json resources = {{"memory", {{"limit", 67108864}}},
                    {"pids", {{"limit", 64}}},
                    {"unified", {{"cgroup.max.descendants", "7"}}}};
  WriteConfig(kWait, parent_ + "/u", resources);
  CmdResult c = Podshim({"create", "--bundle", bundle_.string(), "u"});
  ASSERT_EQ(c.status, 0) << c.err;
  const fs::path cg = mount_ / unique_ / "u";
  EXPECT_EQ(ReadText(cg / "cgroup.max.descendants"), "7\n");
  if (offered.find("memory") == std::string::npos) {
    // The hybrid host: the same single warning `podshim run` gives.
    EXPECT_EQ(Count(c.err, "podshim oci: warning: "), 1u) << c.err;
    EXPECT_NE(c.err.find("are not available in " + mount_.string()), std::string::npos) << c.err;
    EXPECT_NE(c.err.find("not enforced: " + unique_ + "/u/pids.max, " + unique_ + "/u/memory.max"),
              std::string::npos)
        << c.err;
    EXPECT_FALSE(fs::exists(cg / "memory.max"));
  } else {
    EXPECT_EQ(ReadText(cg / "memory.max"), "67108864\n");
  }
  // update: --resources from stdin, merged into what create recorded.
  std::ofstream(tmp_ / "update.json") << R"({"unified":{"cgroup.max.depth":"3"}})";
  CmdResult u =
      PodshimWithStdin({"update", "--resources", "-", "u"}, (tmp_ / "update.json").string());
  ASSERT_EQ(u.status, 0) << u.err;
  EXPECT_EQ(ReadText(cg / "cgroup.max.depth"), "3\n");
  EXPECT_EQ(ReadText(cg / "cgroup.max.descendants"), "7\n");
  json state = json::parse(ReadText(root_ / "u" / "state.json"));
  EXPECT_EQ(state["resources"]["pids"]["limit"], 64);
  EXPECT_EQ(state["resources"]["unified"]["cgroup.max.depth"], "3");
  // The flags: recorded (and enforced where the controller exists).
  CmdResult f = Podshim({"update", "--pids-limit", "32", "--memory", "32m", "u"});
  ASSERT_EQ(f.status, 0) << f.err;
  state = json::parse(ReadText(root_ / "u" / "state.json"));
  EXPECT_EQ(state["resources"]["pids"]["limit"], 32);
  EXPECT_EQ(state["resources"]["memory"]["limit"], 33554432);
  CmdResult bad = Podshim({"update", "--memory", "lots", "u"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--memory: expected -1 or a size"), std::string::npos) << bad.err;
  EXPECT_EQ(Podshim({"delete", "--force", "u"}).status, 0);
  EXPECT_FALSE(fs::exists(mount_ / unique_));
}

TEST_F(OciCgroupTest, AFailedCreateLeavesNoCgroup) {
  WriteConfig(kWait, parent_ + "/bad", json{{"blockIO", {{"weight", 5}}}});
  CmdResult c = Podshim({"create", "--bundle", bundle_.string(), "bad"});
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.err.find("linux.resources.blockIO.weight: expected 10 to 1000, got 5"),
            std::string::npos)
      << c.err;
  EXPECT_FALSE(fs::exists(mount_ / unique_));
  // Failing after the cgroup exists (a prestart hook): it is removed again.
  json cfg = config_;
  cfg["process"]["args"] = {"sh", "-c", kWait};
  cfg["linux"]["cgroupsPath"] = parent_ + "/hook";
  cfg["hooks"]["prestart"] = {{{"path", "/bin/false"}}};
  std::ofstream(bundle_ / "config.json") << cfg.dump(2);
  CmdResult h = Podshim({"create", "--bundle", bundle_.string(), "hook"});
  EXPECT_EQ(h.status, 1) << h.err;
  EXPECT_FALSE(fs::exists(mount_ / unique_)) << h.err;
  EXPECT_FALSE(fs::exists(root_ / "hook"));
}

TEST_F(OciCgroupTest, AnExistingEmptyCgroupIsJoinedAndKeptAPopulatedOneRefused) {
  fs::create_directories(mount_ / unique_ / "mine");
  cleanup_ = {unique_ + "/mine", unique_};
  WriteConfig(kWait, parent_ + "/mine");
  ASSERT_EQ(Podshim({"run", "-d", "--bundle", bundle_.string(), "j1"}).status, 0);
  auto procs = Procs(mount_ / unique_ / "mine");
  EXPECT_TRUE(std::find(procs.begin(), procs.end(), Pid("j1")) != procs.end());
  CmdResult second = Podshim({"create", "--bundle", bundle_.string(), "j2"});
  EXPECT_EQ(second.status, 1);
  EXPECT_NE(second.err.find("is not empty"), std::string::npos) << second.err;
  EXPECT_FALSE(fs::exists(root_ / "j2"));
  ASSERT_EQ(Podshim({"delete", "--force", "j1"}).status, 0);
  EXPECT_TRUE(fs::is_directory(mount_ / unique_ / "mine")) << "not podshim's: joined, kept";
}

}  // namespace
}  // namespace podshim_test
