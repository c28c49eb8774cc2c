// The runtime-spec requirements of issue 14 item 6, end to end with the real binary
// (oci_cli_fixture.h): inherited namespaces, a mount namespace joined by path, rootfsPropagation
// after the rootfs bind, poststart/poststop failures as warnings, delete --force of a running
// container with the processes it forked.
#include <sys/stat.h>

#include "oci_cli_fixture.h"

namespace podshim_test {
namespace {

using OciSpecRequirementsTest = OciCliFixture;

void DropNamespace(json& c, const std::string& type) {
  json kept = json::array();
  for (const json& ns : c["linux"]["namespaces"]) {
    if (ns["type"] != type) kept.push_back(ns);
  }
  c["linux"]["namespaces"] = kept;
}

std::string NsLink(const std::string& pid, const std::string& ns) {
  return fs::read_symlink("/proc/" + pid + "/ns/" + ns).string();
}

TEST_F(OciSpecRequirementsTest, WithoutAMountNamespaceTheContainerSharesTheRuntimes) {
  // podshim runs in a private mount namespace of its own (unshare), so what the container mounts
  // there (it is the runtime's) goes away with it.
  WriteConfig("readlink /proc/self/ns/mnt; ls /shared >/dev/null && echo rootfs-ok", [](json& c) {
    DropNamespace(c, "mount");
    c["linux"].erase("maskedPaths");
    c["linux"].erase("readonlyPaths");
    c["root"]["readonly"] = false;
  });
  std::vector<std::string> prefix = {"unshare",
                                     "-m",
                                     "--propagation",
                                     "private",
                                     "sh",
                                     "-c",
                                     "readlink /proc/self/ns/mnt; exec \"$@\"",
                                     "sh"};
  CmdResult r = Podshim({"run", "--bundle", bundle_.string(), "nomnt"}, prefix);
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  std::string runtime_ns, container_ns, rest;
  std::getline(lines, runtime_ns);
  std::getline(lines, container_ns);
  std::getline(lines, rest);
  EXPECT_EQ(container_ns, runtime_ns) << r.out;
  EXPECT_NE(runtime_ns, NsLink("self", "mnt")) << "the test's own namespace was left alone";
  EXPECT_EQ(rest, "rootfs-ok");
}

TEST_F(OciSpecRequirementsTest, ExecIntoAContainerWithoutAMountNamespaceSeesItsRoot) {
  WriteConfig(kRecordAndWait, [](json& c) {
    DropNamespace(c, "mount");
    c["linux"].erase("maskedPaths");
    c["linux"].erase("readonlyPaths");
    c["root"]["readonly"] = false;
  });
  std::vector<std::string> prefix = {"unshare", "-m", "--propagation", "private"};
  ASSERT_EQ(Podshim({"run", "-d", "--bundle", bundle_.string(), "nomnt"}, prefix).status, 0);
  ASSERT_TRUE(Eventually([&] { return fs::exists(shared_ / "ran"); }));
  // The exec'd process is chrooted into the container's root: busybox's sh is found there.
  CmdResult r = Podshim({"exec", "nomnt", "sh", "-c", "test -d /shared && echo in-root"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "in-root\n");
}

TEST_F(OciSpecRequirementsTest, AMountNamespaceJoinedByPathStillGetsTheRootfs) {
  // A mount namespace held by a process of ours.
  pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    ::execlp("unshare", "unshare", "-m", "--propagation", "private", "sleep", "60", nullptr);
    ::_exit(127);
  }
  const std::string hp = std::to_string(holder);
  ASSERT_TRUE(Eventually([&] {
    std::error_code ec;
    auto link = fs::read_symlink("/proc/" + hp + "/ns/mnt", ec);
    return !ec && link != fs::read_symlink("/proc/self/ns/mnt") &&
           ReadText("/proc/" + hp + "/comm") == "sleep\n";
  }));
  const std::string path = "/proc/" + hp + "/ns/mnt";
  WriteConfig("readlink /proc/self/ns/mnt; echo > /shared/joined; echo busybox-ran", [&](json& c) {
    for (json& ns : c["linux"]["namespaces"]) {
      if (ns["type"] == "mount") ns["path"] = path;
    }
  });
  CmdResult r = Podshim({"run", "--bundle", bundle_.string(), "joined"});
  const std::string holder_ns = NsLink(hp, "mnt");
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, holder_ns + "\nbusybox-ran\n");
  EXPECT_TRUE(fs::exists(shared_ / "joined"));
}

TEST_F(OciSpecRequirementsTest, RootfsPropagationIsSetOnTheContainersRoot) {
  for (const std::string prop : {"unbindable", "shared"}) {
    WriteConfig("awk '$5 == \"/\"' /proc/self/mountinfo",
                [&](json& c) { c["linux"]["rootfsPropagation"] = prop; });
    CmdResult r = Podshim({"run", "--bundle", bundle_.string(), "prop-" + prop});
    ASSERT_EQ(r.status, 0) << prop << ": " << r.err;
    const std::string want = prop == "shared" ? "shared:" : "unbindable";
    EXPECT_NE(r.out.find(want), std::string::npos) << prop << ": " << r.out;
  }
}

TEST_F(OciSpecRequirementsTest, FailingPoststartAndPoststopHooksAreWarningsAndTheRestRun) {
  auto hook = [&](const std::string& file) {
    return json{{"path", "/usr/bin/touch"}, {"args", {"touch", (shared_ / file).string()}}};
  };
  WriteConfig("true", [&](json& c) {
    c["hooks"] = {{"poststart", {{{"path", "/bin/false"}}, hook("poststart-2")}},
                  {"poststop", {{{"path", "/bin/false"}}, hook("poststop-2")}}};
  });
  CmdResult r = Podshim({"run", "--bundle", bundle_.string(), "hooks"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(shared_ / "poststart-2")) << r.err;
  EXPECT_TRUE(fs::exists(shared_ / "poststop-2")) << r.err;
  EXPECT_NE(r.err.find("poststart hook \"/bin/false\": exited with status 1"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("poststop hook \"/bin/false\": exited with status 1"), std::string::npos)
      << r.err;
}

TEST_F(OciSpecRequirementsTest, DeleteForceKillsARunningContainerAndWhatItForked) {
  WriteConfig("sleep 1000 & sleep 1000 & echo > /shared/ran; wait");
  ASSERT_EQ(Podshim({"run", "-d", "--bundle", bundle_.string(), "f"}).status, 0);
  ASSERT_TRUE(Eventually([&] { return fs::exists(shared_ / "ran"); }));
  const std::string init = std::to_string(State("f")["pid"].get<int>());
  const std::string pidns = NsLink(init, "pid");
  auto members = [&] {
    std::vector<std::string> pids;
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::error_code ec;
      auto link = fs::read_symlink(e.path() / "ns/pid", ec);
      if (!ec && link.string() == pidns && !ProcessGone(std::stoi(e.path().filename())))
        pids.push_back(e.path().filename());
    }
    return pids;
  };
  ASSERT_GE(members().size(), 3u);
  CmdResult r = Podshim({"delete", "--force", "f"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(root_ / "f"));
  EXPECT_TRUE(Eventually([&] { return members().empty(); }));
}

}  // namespace
}  // namespace podshim_test
