// `podshim oci` end to end: the real binary (PODSHIM_BINARY) on busybox bundles built by
// scripts/make-bundle.sh in a temporary directory, with a per-test --root. Needs root.
// "Has not run" is checked two ways: the program's first act is to write a marker into a host
// directory bind-mounted at /shared, and the waiting process is still podshim (not yet exec'd).
#include "oci_cli_fixture.h"

namespace podshim_test {
namespace {

// Each container in its own cgroup below a parent of this test, which delete must remove.
class OciCliTest : public OciCliFixture {
 protected:
  OciCliTest() { tmp_prefix_ = "podshim-oci-cli"; }
};

TEST_F(OciCliTest, CreateWaitsUntilStartThenKillAndDeleteLeaveNothing) {
  WriteConfig(kRecordAndWait);
  fs::path pid_file = tmp_ / "pid";
  CmdResult create =
      Podshim({"create", "--bundle", bundle_.string(), "--pid-file", pid_file.string(), "c1"});
  ASSERT_EQ(create.status, 0) << create.err;

  json state = State("c1");
  EXPECT_EQ(state["status"], "created");
  EXPECT_EQ(state["id"], "c1");
  EXPECT_EQ(state["bundle"], bundle_.string());
  EXPECT_EQ(state["rootfs"], (bundle_ / "rootfs").string());
  pid_t pid = state["pid"];
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ReadText(pid_file), std::to_string(pid));
  EXPECT_TRUE(fs::exists(root_ / "c1" / "exec.fifo"));
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(fs::exists(shared_ / "ran")) << "the program ran before start";
  EXPECT_EQ(ReadText("/proc/" + std::to_string(pid) + "/comm"), "podshim\n")
      << "the process has already exec'd";

  CmdResult start = Podshim({"start", "c1"});
  ASSERT_EQ(start.status, 0) << start.err;
  EXPECT_TRUE(Eventually([&] { return fs::exists(shared_ / "ran"); }));
  EXPECT_EQ(State("c1")["status"], "running");
  EXPECT_FALSE(fs::exists(root_ / "c1" / "exec.fifo"));
  CmdResult again = Podshim({"start", "c1"});
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("already running"), std::string::npos) << again.err;

  CmdResult kill = Podshim({"kill", "c1"});  // SIGTERM by default
  ASSERT_EQ(kill.status, 0) << kill.err;
  EXPECT_TRUE(Eventually([&] { return State("c1")["status"] == "stopped"; }));
  CmdResult kill_stopped = Podshim({"kill", "c1", "KILL"});
  EXPECT_EQ(kill_stopped.status, 1) << "killing a stopped container is an error";

  CmdResult del = Podshim({"delete", "c1"});
  ASSERT_EQ(del.status, 0) << del.err;
  EXPECT_FALSE(fs::exists(root_ / "c1"));
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_FALSE(MountsMention(bundle_.string())) << "a container mount is visible on the host";
  CmdResult gone = Podshim({"state", "c1"});
  EXPECT_EQ(gone.status, 1);
  EXPECT_NE(gone.err.find("container \"c1\" does not exist"), std::string::npos) << gone.err;
}

TEST_F(OciCliTest, DeleteOfACreatedContainerKillsItWithoutRunningTheProgram) {
  WriteConfig(kRecordAndWait);
  ASSERT_EQ(Podshim({"create", "--bundle", bundle_.string(), "c2"}).status, 0);
  pid_t pid = State("c2")["pid"];
  CmdResult del = Podshim({"delete", "c2"});
  ASSERT_EQ(del.status, 0) << del.err;
  EXPECT_TRUE(Eventually([&] { return ProcessGone(pid); }));
  EXPECT_FALSE(fs::exists(root_ / "c2"));
  EXPECT_FALSE(fs::exists(shared_ / "ran"));
}

TEST_F(OciCliTest, DeleteOfARunningContainerNeedsForce) {
  WriteConfig(kRecordAndWait);
  ASSERT_EQ(Podshim({"create", "--bundle", bundle_.string(), "c3"}).status, 0);
  ASSERT_EQ(Podshim({"start", "c3"}).status, 0);
  pid_t pid = State("c3")["pid"];
  CmdResult refused = Podshim({"delete", "c3"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("not stopped: running"), std::string::npos) << refused.err;
  CmdResult forced = Podshim({"delete", "--force", "c3"});
  ASSERT_EQ(forced.status, 0) << forced.err;
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_FALSE(fs::exists(root_ / "c3"));
}

TEST_F(OciCliTest, RunExitsWithTheProgramsStatusAndRemovesItsState) {
  WriteConfig("exit 3");
  CmdResult r = Podshim({"run", "--bundle", bundle_.string(), "r1"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_TRUE(ListIds().empty());
}

TEST_F(OciCliTest, RunReportsDeathBySignalAs128PlusN) {
  WriteConfig(kRecordAndWait);
  pid_t run = Spawn({"run", "--bundle", bundle_.string(), "r2"}, "run");
  ASSERT_TRUE(Eventually([&] { return fs::exists(shared_ / "ran"); }));
  EXPECT_EQ(State("r2")["status"], "running");
  ASSERT_EQ(Podshim({"kill", "r2", "9"}).status, 0);
  CmdResult r = Wait(run, "run");
  EXPECT_EQ(r.status, 137) << r.err;
  EXPECT_TRUE(ListIds().empty());
}

TEST_F(OciCliTest, RunForwardsSigtermToTheContainer) {
  WriteConfig("trap 'exit 7' TERM; echo ready > /shared/ran; while :; do sleep 0.05; done");
  pid_t run = Spawn({"run", "--bundle", bundle_.string(), "r3"}, "run");
  ASSERT_TRUE(Eventually([&] { return fs::exists(shared_ / "ran"); }));
  ASSERT_EQ(::kill(run, SIGTERM), 0);
  CmdResult r = Wait(run, "run");
  EXPECT_EQ(r.status, 7) << "the container's own status, from its TERM trap; " << r.err;
}

TEST_F(OciCliTest, TerminalWithoutConsoleSocketIsRejectedAndLeavesNoState) {
  WriteConfig("true", [](json& c) { c["process"]["terminal"] = true; });
  CmdResult r = Podshim({"create", "--bundle", bundle_.string(), "t1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("process.terminal: cannot allocate a tty"), std::string::npos) << r.err;
  EXPECT_TRUE(ListIds().empty());
}

TEST_F(OciCliTest, BadConfigNamesTheJsonPathAndLeavesNoState) {
  WriteConfig("true", [](json& c) {
    c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", "x"}, {"soft", 1}}};
  });
  CmdResult r = Podshim({"run", "--bundle", bundle_.string(), "bad"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("process.rlimits[0].hard"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(root_ / "bad"));
}

TEST_F(OciCliTest, DuplicateAndUnknownIds) {
  WriteConfig(kRecordAndWait);
  ASSERT_EQ(Podshim({"create", "--bundle", bundle_.string(), "d1"}).status, 0);
  CmdResult dup = Podshim({"create", "--bundle", bundle_.string(), "d1"});
  EXPECT_EQ(dup.status, 1);
  EXPECT_NE(dup.err.find("container \"d1\" already exists"), std::string::npos) << dup.err;
  EXPECT_EQ(State("d1")["status"], "created") << "the first one is untouched";

  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"state", "nope"}, {"start", "nope"}, {"kill", "nope"}, {"delete", "nope"}}) {
    CmdResult r = Podshim(cmd);
    EXPECT_EQ(r.status, 1) << cmd[0];
    EXPECT_NE(r.err.find("container \"nope\" does not exist"), std::string::npos) << r.err;
  }
  EXPECT_EQ(Podshim({"delete", "--force", "nope"}).status, 0) << "as runc";
  EXPECT_EQ(Podshim({"create", "--bundle", bundle_.string(), "../x"}).status, 1);
}

TEST_F(OciCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Podshim({"frobnicate"}).status, 2);
  EXPECT_EQ(Podshim({"create", "--bndle", "x", "y"}).status, 2);
  EXPECT_EQ(Podshim({"kill", "x", "SIGNOPE"}).status, 2);
  EXPECT_EQ(Podshim({"state"}).status, 2);
  CmdResult help = Podshim({"kill", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("usage: podshim oci kill"), std::string::npos);
}

TEST_F(OciCliTest, ListShowsEveryContainerAsTableAndJson) {
  WriteConfig(kRecordAndWait);
  ASSERT_EQ(Podshim({"create", "--bundle", bundle_.string(), "l1"}).status, 0);
  ASSERT_EQ(Podshim({"create", "--bundle", bundle_.string(), "l2"}).status, 0);
  ASSERT_EQ(Podshim({"start", "l2"}).status, 0);
  CmdResult table = Podshim({"list"});
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_EQ(table.out.rfind("ID ", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("l1 "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("created"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("running"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("   root\n"), std::string::npos) << "the OWNER column: " << table.out;
  CmdResult js = Podshim({"list", "--format", "json"});
  ASSERT_EQ(js.status, 0) << js.err;
  json list = json::parse(js.out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], "l1");
  EXPECT_EQ(list[0]["status"], "created");
  EXPECT_EQ(list[1]["id"], "l2");
  EXPECT_EQ(list[1]["status"], "running");
}

TEST_F(OciCliTest, FeaturesHasTheRequiredVersions) {
  CmdResult r = Podshim({"features"});
  ASSERT_EQ(r.status, 0) << r.err;
  json f = json::parse(r.out);
  EXPECT_EQ(f["ociVersionMin"], "1.0.0");
  EXPECT_EQ(f["ociVersionMax"], "1.2.0");
  EXPECT_TRUE(f["linux"]["seccomp"]["enabled"]);
}

TEST_F(OciCliTest, HooksGetTheStateOnStdinInLifecycleOrder) {
  fs::path log = tmp_ / "hooks.log";
  auto hook = [&](const std::string& name) {
    // Appends "<name> <state JSON>" to the log; hooks get exactly their env (none here).
    return json{{"path", "/bin/sh"},
                {"args",
                 {"sh", "-c",
                  "printf '%s ' " + name + " >> " + log.string() + "; cat >> " + log.string() +
                      "; echo >> " + log.string()}}};
  };
  WriteConfig(kRecordAndWait, [&](json& c) {
    auto in_container = [](const std::string& name) {
      return json{{"path", "/bin/sh"},
                  {"args", {"sh", "-c", "cat > /shared/" + name + ".json"}},
                  {"timeout", 5}};
    };
    c["hooks"] = {{"createRuntime", {hook("createRuntime")}},
                  {"createContainer", {in_container("createContainer")}},
                  {"startContainer", {in_container("startContainer")}},
                  {"poststart", {hook("poststart")}},
                  {"poststop", {hook("poststop")}}};
  });
  ASSERT_EQ(Podshim({"create", "--bundle", bundle_.string(), "h1"}).status, 0);
  ASSERT_EQ(Podshim({"start", "h1"}).status, 0);
  ASSERT_EQ(Podshim({"delete", "--force", "h1"}).status, 0);
  std::istringstream lines(ReadText(log));
  std::vector<std::pair<std::string, json>> seen;
  for (std::string line; std::getline(lines, line);) {
    size_t sp = line.find(' ');
    seen.emplace_back(line.substr(0, sp), json::parse(line.substr(sp + 1)));
  }
  ASSERT_EQ(seen.size(), 3u) << ReadText(log);
  // The container-namespace hooks see the container's filesystem: /shared is only there.
  json created = json::parse(ReadText(shared_ / "createContainer.json"));
  EXPECT_EQ(created["status"], "creating");
  json started = json::parse(ReadText(shared_ / "startContainer.json"));
  EXPECT_EQ(started["status"], "created");
  EXPECT_EQ(started["id"], "h1");
  EXPECT_EQ(seen[0].first, "createRuntime");
  EXPECT_EQ(seen[0].second["status"], "creating");
  EXPECT_EQ(seen[0].second["id"], "h1");
  EXPECT_GT(seen[0].second["pid"], 0);
  EXPECT_EQ(seen[1].first, "poststart");
  EXPECT_EQ(seen[1].second["status"], "running");
  EXPECT_EQ(seen[2].first, "poststop");
  EXPECT_EQ(seen[2].second["status"], "stopped");
}

TEST_F(OciCliTest, FailingCreateRuntimeHookUndoesTheCreate) {
  WriteConfig(kRecordAndWait, [](json& c) {
    c["hooks"] = {{"createRuntime", {{{"path", "/bin/false"}}}}};
  });
  CmdResult r = Podshim({"create", "--bundle", bundle_.string(), "h2"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("createRuntime hook \"/bin/false\""), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(root_ / "h2"));
  EXPECT_FALSE(fs::exists(shared_ / "ran"));
}

TEST_F(OciCliTest, HookTimeoutKillsTheHookAndPoststartFailureIsOnlyAWarning) {
  WriteConfig(kRecordAndWait, [](json& c) {
    c["hooks"] = {
        {"poststart", {{{"path", "/bin/sleep"}, {"args", {"sleep", "30"}}, {"timeout", 1}}}}};
  });
  ASSERT_EQ(Podshim({"create", "--bundle", bundle_.string(), "h3"}).status, 0);
  auto before = std::chrono::steady_clock::now();
  CmdResult start = Podshim({"start", "h3"});
  auto took = std::chrono::steady_clock::now() - before;
  EXPECT_EQ(start.status, 0) << "a failed poststart hook does not fail start; " << start.err;
  EXPECT_LT(took, 10s);
  EXPECT_NE(start.err.find("poststart hook \"/bin/sleep\": timed out after 1s"), std::string::npos)
      << start.err;
  EXPECT_EQ(State("h3")["status"], "running");
}

}  // namespace
}  // namespace podshim_test
