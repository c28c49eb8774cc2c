#include "cgroups/cgroup_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/sys.h"
#include "fixtures/fakes/temp_dir.h"

namespace podshim::cgroups {
namespace {

using podshim::testing::TempDir;

CgroupPath P(std::string_view s) { return *CgroupPath::Parse(s); }

TEST(CgroupPathTest, ParsesAndNormalisesSlashes) {
  EXPECT_EQ(P("podshim/pod-a").str(), "podshim/pod-a");
  EXPECT_EQ(P("/podshim/pod-a/").str(), "podshim/pod-a");
  EXPECT_TRUE(P("").IsRoot());
  EXPECT_TRUE(P("/").IsRoot());
  EXPECT_EQ(P("").RelativeForOpen(), ".");
}

TEST(CgroupPathTest, RejectsEscapesAndEmptyComponents) {
  for (std::string_view bad : {"a/../b", "..", "a/./b", "a//b", "."}) {
    auto r = CgroupPath::Parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidSpec);
    EXPECT_NE(r.error().ToString().find(std::string(bad)), std::string::npos);
  }
}

TEST(CgroupPathTest, ChildParentDepthPrefix) {
  CgroupPath leaf = *P("a/b").Child("c");
  EXPECT_EQ(leaf.str(), "a/b/c");
  EXPECT_EQ(leaf.Depth(), 3u);
  EXPECT_EQ(leaf.Parent().str(), "a/b");
  EXPECT_TRUE(P("a").Parent().IsRoot());
  EXPECT_TRUE(CgroupPath().Parent().IsRoot());
  EXPECT_EQ(leaf.Prefix(0).str(), "");
  EXPECT_EQ(leaf.Prefix(1).str(), "a");
  EXPECT_EQ(leaf.Prefix(2).str(), "a/b");
  EXPECT_EQ(leaf.Prefix(3).str(), "a/b/c");
  EXPECT_EQ(leaf.Prefix(9).str(), "a/b/c");
  EXPECT_EQ(CgroupPath().Child("x")->str(), "x");
  EXPECT_FALSE(P("a").Child("x/y"));
  EXPECT_FALSE(P("a").Child(".."));
  EXPECT_FALSE(P("a").Child(""));
}

TEST(ControlFileTest, ParseRejectsPaths) {
  EXPECT_EQ(ControlFile::Parse("memory.max")->name(), "memory.max");
  EXPECT_FALSE(ControlFile::Parse("../memory.max"));
  EXPECT_FALSE(ControlFile::Parse(".."));
  EXPECT_FALSE(ControlFile::Parse(""));
}

class CgroupFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    auto fs = CgroupFs::Open(dir_.path());
    ASSERT_TRUE(fs) << fs.error().ToString();
    fs_.emplace(std::move(*fs));
  }
  TempDir dir_;
  std::optional<CgroupFs> fs_;
};

TEST_F(CgroupFsTest, OpenMissingRootNamesIt) {
  auto fs = CgroupFs::Open(dir_.path() / "nope");
  ASSERT_FALSE(fs);
  EXPECT_EQ(fs.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(fs.error().ToString().find((dir_.path() / "nope").string()), std::string::npos);
}

TEST_F(CgroupFsTest, OpenFileAsRootFails) {
  ASSERT_TRUE(sys::WriteFile(dir_.path() / "f", "x"));
  auto fs = CgroupFs::Open(dir_.path() / "f");
  ASSERT_FALSE(fs);
  EXPECT_EQ(fs.error().code(), std::errc::not_a_directory);
}

TEST_F(CgroupFsTest, MakeDirExistsRemoveDir) {
  EXPECT_FALSE(*fs_->Exists(P("a")));
  ASSERT_TRUE(fs_->MakeDir(P("a")));
  EXPECT_TRUE(*fs_->Exists(P("a")));
  EXPECT_TRUE(std::filesystem::is_directory(dir_.path() / "a"));
  auto again = fs_->MakeDir(P("a"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), std::errc::file_exists);
  EXPECT_NE(again.error().ToString().find((dir_.path() / "a").string()), std::string::npos);
  ASSERT_TRUE(fs_->MakeDir(P("a/b")));
  auto busy = fs_->RemoveDir(P("a"));  // a plain directory: ENOTEMPTY (cgroupfs says EBUSY)
  ASSERT_FALSE(busy);
  ASSERT_TRUE(fs_->RemoveDir(P("a/b")));
  ASSERT_TRUE(fs_->RemoveDir(P("a")));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "a"));
  auto gone = fs_->RemoveDir(P("a"));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), std::errc::no_such_file_or_directory);
}

TEST_F(CgroupFsTest, RefusesToRemoveRoot) {
  auto r = fs_->RemoveDir(CgroupPath());
  ASSERT_FALSE(r);
  EXPECT_TRUE(std::filesystem::exists(dir_.path()));
}

TEST_F(CgroupFsTest, WriteReplacesExistingFileAndReadReturnsIt) {
  ASSERT_TRUE(fs_->MakeDir(P("a")));
  ASSERT_TRUE(sys::WriteFile(dir_.path() / "a/memory.max", "max\n"));
  ControlFile f("memory.max");
  ASSERT_TRUE(fs_->Write(P("a"), f, "1048576"));
  EXPECT_EQ(*fs_->Read(P("a"), f), "1048576");
  EXPECT_TRUE(*fs_->HasFile(P("a"), f));
  EXPECT_FALSE(*fs_->HasFile(P("a"), ControlFile("pids.max")));
}

TEST_F(CgroupFsTest, WriteNeverCreatesAFile) {
  ASSERT_TRUE(fs_->MakeDir(P("a")));
  auto r = fs_->Write(P("a"), ControlFile("memory.max"), "1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(r.error().ToString().find((dir_.path() / "a/memory.max").string()), std::string::npos)
      << r.error().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "a/memory.max"));
}

TEST_F(CgroupFsTest, ReadErrorNamesFullPath) {
  auto r = fs_->Read(P("x/y"), kCgroupEvents);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find((dir_.path() / "x/y/cgroup.events").string()),
            std::string::npos)
      << r.error().ToString();
}

TEST_F(CgroupFsTest, RootFilesUseDot) {
  ASSERT_TRUE(sys::WriteFile(dir_.path() / "cgroup.controllers", "cpu memory\n"));
  EXPECT_EQ(*fs_->Read(CgroupPath(), kCgroupControllers), "cpu memory\n");
  EXPECT_EQ(fs_->FullPath(CgroupPath()), dir_.path());
  EXPECT_EQ(fs_->FullPath(P("a"), kCgroupProcs), dir_.path() / "a/cgroup.procs");
}

TEST_F(CgroupFsTest, OpenDirIsPathOnlyAndCloexec) {
  ASSERT_TRUE(fs_->MakeDir(P("a")));
  auto fd = fs_->OpenDir(P("a"));
  ASSERT_TRUE(fd) << fd.error().ToString();
  int fl = ::fcntl(fd->get(), F_GETFL);
  EXPECT_TRUE(fl & O_PATH);
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
  auto missing = fs_->OpenDir(P("b"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().ToString().find((dir_.path() / "b").string()), std::string::npos);
}

}  // namespace
}  // namespace podshim::cgroups
