// The state dir of `podshim oci`: state.json round trip, runc's printed shape, /proc/<pid>/stat
// parsing and the status derivation, on a temporary directory and a fake proc root.
#include "oci/state.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace podshim::oci {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "podshim-state-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

ContainerState Sample() {
  ContainerState s;
  s.oci_version = "1.2.0";
  s.id = "web-1";
  s.status = ContainerStatus::kCreated;
  s.pid = 4242;
  s.bundle = "/bundles/web";
  s.rootfs = "/bundles/web/rootfs";
  s.created = "2026-01-02T03:04:05.000000006Z";
  s.owner = "root";
  s.annotations = {{"org.example.key", "value"}};
  s.pid_start_time = 123456;
  Hook hook;
  hook.path = "/usr/bin/cleanup";
  hook.args = {"cleanup", "--all"};
  hook.env = {"A=1"};
  hook.timeout = 5;
  s.poststop.push_back(hook);
  hook.path = "/usr/bin/announce";
  hook.timeout.reset();
  s.poststart.push_back(hook);
  return s;
}

// A /proc/<pid>/stat line with the given state and start time (field 22).
std::string StatLine(pid_t pid, const std::string& comm, char state, uint64_t start) {
  std::string line = std::to_string(pid) + " (" + comm + ") " + state;
  for (int field = 4; field < 22; ++field) line += " " + std::to_string(field);
  line += " " + std::to_string(start) + " 999 888\n";
  return line;
}

void WriteFakeProc(const fs::path& proc, pid_t pid, char state, uint64_t start) {
  fs::create_directories(proc / std::to_string(pid));
  std::ofstream(proc / std::to_string(pid) / "stat") << StatLine(pid, "sh", state, start);
}

TEST(StateJsonTest, FileRoundTripKeepsEveryField) {
  ContainerState in = Sample();
  auto out = StateFromFileJson(StateToFileJson(in));
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->oci_version, in.oci_version);
  EXPECT_EQ(out->id, in.id);
  EXPECT_EQ(out->status, ContainerStatus::kCreated);
  EXPECT_EQ(out->pid, in.pid);
  EXPECT_EQ(out->bundle, in.bundle);
  EXPECT_EQ(out->rootfs, in.rootfs);
  EXPECT_EQ(out->created, in.created);
  EXPECT_EQ(out->owner, in.owner);
  EXPECT_EQ(out->annotations, in.annotations);
  EXPECT_EQ(out->pid_start_time, in.pid_start_time);
  ASSERT_EQ(out->poststop.size(), 1u);
  EXPECT_EQ(out->poststop[0].path, "/usr/bin/cleanup");
  EXPECT_EQ(out->poststop[0].args, in.poststop[0].args);
  EXPECT_EQ(out->poststop[0].env, in.poststop[0].env);
  EXPECT_EQ(out->poststop[0].timeout, 5);
  ASSERT_EQ(out->poststart.size(), 1u);
  EXPECT_EQ(out->poststart[0].path, "/usr/bin/announce");
  EXPECT_FALSE(out->poststart[0].timeout);
  EXPECT_TRUE(out->start_container.empty());
}

TEST(StateJsonTest, RuncShapeHasRuncFieldsInRuncOrderAndNoBookkeeping) {
  std::string text = StateToRuncJson(Sample(), ContainerStatus::kRunning, 2);
  auto j = nlohmann::ordered_json::parse(text);
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"ociVersion", "id", "pid", "status", "bundle", "rootfs",
                                            "created", "owner", "annotations"}));
  EXPECT_EQ(j["status"], "running");
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_NE(text.find("\n  \"id\": \"web-1\""), std::string::npos) << text;
}

TEST(StateJsonTest, StoppedReportsPidZeroAndNoAnnotationsWhenEmpty) {
  ContainerState s = Sample();
  s.annotations.clear();
  auto j = nlohmann::json::parse(StateToRuncJson(s, ContainerStatus::kStopped, -1));
  EXPECT_EQ(j["pid"], 0);
  EXPECT_EQ(j["status"], "stopped");
  EXPECT_FALSE(j.contains("annotations"));
}

TEST(StateJsonTest, ErrorsNameTheField) {
  auto missing = StateFromFileJson(R"({"ociVersion":"1.2.0","id":"a","status":"created"})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().ToString().find("pid: missing"), std::string::npos)
      << missing.error().ToString();
  auto wrong = StateFromFileJson(
      R"({"ociVersion":"1.2.0","id":"a","status":"created","pid":"x","bundle":"/b"})");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().ToString().find("state.json: pid:"), std::string::npos)
      << wrong.error().ToString();
  auto status = StateFromFileJson(
      R"({"ociVersion":"1.2.0","id":"a","status":"flying","pid":1,"bundle":"/b"})");
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().ToString().find("flying"), std::string::npos);
  EXPECT_FALSE(StateFromFileJson("not json"));
}

TEST(StateJsonTest, UnknownStatusIsEscapedInTheError) {
  auto s = ParseContainerStatus("run\nning\xff");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().context(), "unknown container status \"run\\nning\\xff\"");
}

TEST(ProcStatTest, ParsesStateAndStartTimeWithAwkwardCommandNames) {
  auto st = ParseProcStat(StatLine(7, "a) (b c", 'S', 98765));
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->start_time, 98765u);
  EXPECT_FALSE(ParseProcStat("7 (sh) S 1 2 3"));
  EXPECT_FALSE(ParseProcStat("garbage"));
}

TEST(ProcStatTest, ReadsOwnStatAndReportsMissingPidAsNullopt) {
  auto self = ReadProcStat("/proc", ::getpid());
  ASSERT_TRUE(self) << self.error().ToString();
  ASSERT_TRUE(self->has_value());
  EXPECT_GT((*self)->start_time, 0u);
  TempDir tmp;
  auto none = ReadProcStat(tmp.path(), 12345);
  ASSERT_TRUE(none) << none.error().ToString();
  EXPECT_FALSE(none->has_value());
}

TEST(DeriveStatusTest, FollowsRuncRules) {
  ContainerState s = Sample();
  ProcStat alive{'S', s.pid_start_time};
  EXPECT_EQ(DeriveStatus(s, alive, true), ContainerStatus::kCreated);
  EXPECT_EQ(DeriveStatus(s, alive, false), ContainerStatus::kRunning);
  EXPECT_EQ(DeriveStatus(s, std::nullopt, true), ContainerStatus::kStopped);
  EXPECT_EQ(DeriveStatus(s, ProcStat{'Z', s.pid_start_time}, false), ContainerStatus::kStopped);
  EXPECT_EQ(DeriveStatus(s, ProcStat{'S', s.pid_start_time + 1}, true), ContainerStatus::kStopped)
      << "a reused pid is not our container";
}

TEST(DeriveStatusTest, AFrozenCgroupIsPausedWhileTheProcessLives) {
  ContainerState s = Sample();
  ProcStat alive{'S', s.pid_start_time};
  EXPECT_EQ(DeriveStatus(s, alive, false, true), ContainerStatus::kPaused);
  EXPECT_EQ(DeriveStatus(s, alive, true, true), ContainerStatus::kPaused);
  EXPECT_EQ(DeriveStatus(s, std::nullopt, false, true), ContainerStatus::kStopped);
  s.status = ContainerStatus::kPaused;  // a recorded status does not count, the freezer does
  EXPECT_EQ(DeriveStatus(s, alive, false, false), ContainerStatus::kRunning);
}

TEST(StateFileTest, CgroupAndResourcesRoundTrip) {
  ContainerState s = Sample();
  s.cgroup_mount = "/sys/fs/cgroup";
  s.cgroup_path = "podshim/web-1";
  s.cgroup_created = {"podshim", "podshim/web-1"};
  s.resources_json = R"({"memory":{"limit":1024}})";
  auto back = StateFromFileJson(StateToFileJson(s));
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->cgroup_mount, "/sys/fs/cgroup");
  EXPECT_EQ(back->cgroup_path, "podshim/web-1");
  EXPECT_EQ(back->cgroup_created, s.cgroup_created);
  EXPECT_EQ(nlohmann::json::parse(back->resources_json), nlohmann::json::parse(s.resources_json));
  EXPECT_EQ(back->CgroupDir(), fs::path("/sys/fs/cgroup/podshim/web-1"));
  // Not in the runc shape that `state` prints.
  EXPECT_EQ(StateToRuncJson(s, ContainerStatus::kRunning, -1).find("cgroup"), std::string::npos);
  EXPECT_TRUE(Sample().CgroupDir().empty());
}

TEST(StateDirTest, CurrentStatusReadsTheFreezer) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "proc" / "77");
  fs::create_directories(tmp.path() / "cg" / "c1");
  std::ofstream(tmp.path() / "proc" / "77" / "stat") << StatLine(77, "sh", 'S', 5) << "\n";
  std::ofstream(tmp.path() / "cg" / "c1" / "cgroup.freeze") << "1\n";
  StateDir dir(tmp.path() / "root", tmp.path() / "proc");
  ContainerState s = Sample();
  s.pid = 77;
  s.pid_start_time = 5;
  auto unfrozen = dir.CurrentStatus(s);
  ASSERT_TRUE(unfrozen);
  EXPECT_EQ(*unfrozen, ContainerStatus::kRunning) << "no cgroup recorded";
  s.cgroup_mount = (tmp.path() / "cg").string();
  s.cgroup_path = "c1";
  EXPECT_EQ(*dir.CurrentStatus(s), ContainerStatus::kPaused);
  std::ofstream(tmp.path() / "cg" / "c1" / "cgroup.freeze") << "0\n";
  EXPECT_EQ(*dir.CurrentStatus(s), ContainerStatus::kRunning);
}

TEST(ContainerIdTest, AcceptsRuncIdsOnly) {
  EXPECT_TRUE(ValidateContainerId("web_1.a+b-c"));
  EXPECT_FALSE(ValidateContainerId(""));
  EXPECT_FALSE(ValidateContainerId("."));
  EXPECT_FALSE(ValidateContainerId(".."));
  EXPECT_FALSE(ValidateContainerId("a/b"));
  EXPECT_FALSE(ValidateContainerId("a b"));
  EXPECT_FALSE(ValidateContainerId(std::string(1025, 'a')));
}

TEST(StateDirTest, CreateSaveLoadListRemove) {
  TempDir tmp;
  fs::path proc = tmp.path() / "proc";
  StateDir dir(tmp.path() / "root", proc);
  ContainerState s = Sample();

  auto missing = dir.Load(s.id);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), make_error_code(ErrorCode::kNotFound));
  EXPECT_EQ(missing.error().context(), "container \"web-1\" does not exist");

  ASSERT_TRUE(dir.CreateContainerDir(s.id));
  auto dup = dir.CreateContainerDir(s.id);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().context(), "container \"web-1\" already exists");

  ASSERT_TRUE(dir.Save(s));
  struct stat st;
  ASSERT_EQ(::stat((dir.ContainerDir(s.id) / "state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(dir.ContainerDir(s.id) / "state.json.tmp"));
  auto loaded = dir.Load(s.id);
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  EXPECT_EQ(loaded->pid, s.pid);

  ContainerState other = Sample();
  other.id = "a-first";
  ASSERT_TRUE(dir.CreateContainerDir(other.id));
  ASSERT_TRUE(dir.Save(other));
  ASSERT_TRUE(dir.CreateContainerDir("half-created"));  // no state.json: not listed
  auto ids = dir.List();
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{"a-first", "web-1"}));

  ASSERT_TRUE(dir.Remove(s.id));
  EXPECT_FALSE(fs::exists(dir.ContainerDir(s.id)));
  ASSERT_TRUE(dir.Remove(s.id)) << "removing twice is fine";
}

TEST(StateDirTest, CurrentStatusReadsFifoAndProc) {
  TempDir tmp;
  fs::path proc = tmp.path() / "proc";
  StateDir dir(tmp.path() / "root", proc);
  ContainerState s = Sample();
  ASSERT_TRUE(dir.CreateContainerDir(s.id));
  ASSERT_TRUE(dir.Save(s));

  auto gone = dir.CurrentStatus(s);
  ASSERT_TRUE(gone);
  EXPECT_EQ(*gone, ContainerStatus::kStopped);

  WriteFakeProc(proc, s.pid, 'S', s.pid_start_time);
  ASSERT_EQ(::mkfifo(dir.FifoPath(s.id).c_str(), 0600), 0);
  auto created = dir.CurrentStatus(s);
  ASSERT_TRUE(created);
  EXPECT_EQ(*created, ContainerStatus::kCreated);

  fs::remove(dir.FifoPath(s.id));
  auto running = dir.CurrentStatus(s);
  ASSERT_TRUE(running);
  EXPECT_EQ(*running, ContainerStatus::kRunning);

  WriteFakeProc(proc, s.pid, 'Z', s.pid_start_time);
  auto zombie = dir.CurrentStatus(s);
  ASSERT_TRUE(zombie);
  EXPECT_EQ(*zombie, ContainerStatus::kStopped);
}

}  // namespace
}  // namespace podshim::oci
