// The hand-over record of an upgrade in place (its JSON, both ways) and the check of the binary
// to upgrade to, run against small scripts in a temporary directory.
#include "shim/run/shim_upgrade.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

HandoverRecord Sample() {
  HandoverRecord r;
  r.cwd = "/home/op";
  r.argv = {"/usr/bin/podshim", "start", "--state-dir", "/run/podshim/web", "pod.yaml"};
  r.from_version = "0.1.0";
  r.handovers = 2;
  r.lock_fd = 5;
  r.listen_fd = 9;
  r.ns_fds = {{"ipc", 7}, {"net", 6}, {"uts", 8}};
  r.pipes = {{"app", 3, LogStream::kStdout, 12, std::string("half a li\xff\0ne", 13)},
             {"app", 3, LogStream::kStderr, 13, ""}};
  return r;
}

TEST(HandoverRecordTest, RoundTripsEveryField) {
  const HandoverRecord r = Sample();
  const std::string text = FormatHandover(r);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  auto back = ParseHandover(text);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, r);
  EXPECT_EQ(back->Fds(), (std::vector<int>{5, 9, 7, 6, 8, 12, 13}));
}

TEST(HandoverRecordTest, RefusesWhatCannotBeAHandOver) {
  EXPECT_FALSE(ParseHandover("not json"));
  EXPECT_FALSE(ParseHandover("[]"));
  EXPECT_FALSE(ParseHandover("{}"));
  auto with = [](auto change) {
    HandoverRecord r = Sample();
    change(r);
    return ParseHandover(FormatHandover(r));
  };
  auto stdio = with([](HandoverRecord& r) { r.listen_fd = 1; });
  ASSERT_FALSE(stdio);
  EXPECT_NE(stdio.error().ToString().find("fd 1"), std::string::npos) << stdio.error().ToString();
  auto twice = with([](HandoverRecord& r) { r.pipes[1].fd = r.lock_fd; });
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().ToString().find("twice"), std::string::npos);
  EXPECT_FALSE(with([](HandoverRecord& r) { r.argv.clear(); }));
  EXPECT_FALSE(with([](HandoverRecord& r) { r.handovers = 0; }));
  std::string text = FormatHandover(Sample());
  std::string bad_stream = text;
  bad_stream.replace(bad_stream.find("\"stderr\""), 8, "\"stdin\"");
  EXPECT_FALSE(ParseHandover(bad_stream));
  std::string bad_hex = text;
  bad_hex.replace(bad_hex.find("\"pending\":\"") + 11, 1, "Z");
  EXPECT_FALSE(ParseHandover(bad_hex));
}

class CheckUpgradeBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "podshim-upgrade-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Script(const std::string& name, const std::string& body, mode_t mode = 0755) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    ::chmod(p.c_str(), mode);
    return p.string();
  }

  static std::string Why(const Result<UpgradeBinary>& r) {
    return r ? "accepted" : r.error().ToString();
  }

  fs::path dir_;
};

TEST_F(CheckUpgradeBinaryTest, AcceptsABinaryThatSaysItsVersion) {
  auto r = CheckUpgradeBinary(Script("ok", "echo \"podshim $1 1.2.3-next\"; echo commit: x"));
  ASSERT_TRUE(r) << Why(r);
  EXPECT_EQ(r->version, "1.2.3-next");
  EXPECT_EQ(r->path, (dir_ / "ok").string());
}

TEST_F(CheckUpgradeBinaryTest, NamesThePathAndWhatIsWrong) {
  const std::string missing = (dir_ / "missing").string();
  EXPECT_NE(Why(CheckUpgradeBinary(missing)).find(missing + "\": No such file"), std::string::npos)
      << Why(CheckUpgradeBinary(missing));
  EXPECT_NE(Why(CheckUpgradeBinary("podshim")).find("must be an absolute path"), std::string::npos);
  EXPECT_NE(Why(CheckUpgradeBinary(dir_.string())).find("is not a regular file"),
            std::string::npos);
  const std::string plain = Script("plain", "echo podshim version 1", 0644);
  EXPECT_NE(Why(CheckUpgradeBinary(plain)).find("is not executable"), std::string::npos);
  const std::string failing = Script("failing", "exit 3");
  EXPECT_NE(Why(CheckUpgradeBinary(failing)).find("exited with status 3"), std::string::npos)
      << Why(CheckUpgradeBinary(failing));
  const std::string other = Script("other", "echo hello");
  EXPECT_NE(Why(CheckUpgradeBinary(other)).find("printed \"hello\""), std::string::npos)
      << Why(CheckUpgradeBinary(other));
  const std::string empty = Script("empty", "echo 'podshim version '");
  EXPECT_FALSE(CheckUpgradeBinary(empty));
}

TEST_F(CheckUpgradeBinaryTest, KillsABinaryThatHangs) {
  const std::string hangs = Script("hangs", "exec sleep 30");
  const auto start = std::chrono::steady_clock::now();
  auto r = CheckUpgradeBinary(hangs, milliseconds(300));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(Why(r).find("did not finish within 300 ms"), std::string::npos) << Why(r);
}

}  // namespace
}  // namespace podshim::shim
