// rootfs_resolve.h: mount targets opened inside a temporary root with openat2 RESOLVE_IN_ROOT.
// Absolute links, ".." links, nested and dangling links all stay in the root; what is missing
// is created in the root, never at the host path a link names (a sentinel directory is checked).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include "common/sys.h"
#include "common/unique_fd.h"
#include "fixtures/fakes/temp_dir.h"
#include "oci/rootfs_resolve.h"

namespace podshim::oci {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

std::set<std::string> Listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(root_.path().empty());
    ASSERT_FALSE(host_.path().empty());
    ASSERT_TRUE(sys::WriteFile(host_.path() / "sentinel", "host\n"));
    root_fd_ = UniqueFd(::open(root_.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_);
  }
  void TearDown() override {
    EXPECT_EQ(Listing(host_.path()), std::set<std::string>{"sentinel"}) << "host dir touched";
  }

  // Opens `path` in the root; "" when it fails, else the host path the fd refers to.
  std::string Resolve(const char* path, CreateKind create, int* err = nullptr) {
    int fd = OpenInRoot(root_fd_.get(), path, create);
    if (err) *err = fd < 0 ? -fd : 0;
    if (fd < 0) return "";
    UniqueFd owned(fd);
    std::error_code ec;
    return fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec).string();
  }
  std::string R(const fs::path& p) const { return (root_.path() / p).string(); }
  fs::path Host() const { return host_.path(); }

  TempDir root_;
  TempDir host_;
  UniqueFd root_fd_;
};

TEST_F(ResolveTest, PlainPathsAndTheRootItself) {
  fs::create_directories(root_.path() / "a/b");
  EXPECT_EQ(Resolve("/a/b", CreateKind::kNone), R("a/b"));
  EXPECT_EQ(Resolve("/", CreateKind::kNone), root_.path().string());
  int err = 0;
  EXPECT_EQ(Resolve("/a/missing", CreateKind::kNone, &err), "");
  EXPECT_EQ(err, ENOENT);
}

TEST_F(ResolveTest, AbsoluteLinksToHostPathsStayInTheRoot) {
  fs::create_symlink(Host(), root_.path() / "hostlink");
  fs::create_symlink("/etc", root_.path() / "etclink");
  int err = 0;
  EXPECT_EQ(Resolve("/hostlink/sentinel", CreateKind::kNone, &err), "");
  EXPECT_EQ(err, ENOENT);  // the host's file is not reachable
  EXPECT_EQ(Resolve("/hostlink/x", CreateKind::kDirectory), R(Host().relative_path() / "x"));
  EXPECT_EQ(Resolve("/etclink/podshim-x", CreateKind::kDirectory), R("etc/podshim-x"));
  EXPECT_FALSE(fs::exists("/etc/podshim-x"));
}

TEST_F(ResolveTest, DotDotLinksClampAtTheRoot) {
  fs::create_directories(root_.path() / "real/dir");
  fs::create_symlink("../../../../../../../.." + Host().string(), root_.path() / "real/up");
  fs::create_symlink("../../../../real/dir", root_.path() / "real/dir/back");
  EXPECT_EQ(Resolve("/real/up/y", CreateKind::kDirectory), R(Host().relative_path() / "y"));
  EXPECT_EQ(Resolve("/real/dir/back", CreateKind::kNone), R("real/dir"));
}

TEST_F(ResolveTest, NestedAndDanglingLinksAreCreatedInTheRoot) {
  fs::create_symlink("/n2/a", root_.path() / "n1");
  fs::create_symlink("n3", root_.path() / "n2");
  fs::create_symlink(Host() / "deep", root_.path() / "n3");  // dangling, absolute
  EXPECT_EQ(Resolve("/n1/m", CreateKind::kDirectory), R(Host().relative_path() / "deep/a/m"));
  EXPECT_TRUE(fs::is_directory(root_.path() / Host().relative_path() / "deep/a/m"));
}

TEST_F(ResolveTest, AFileLinkMakesAFileInTheRoot) {
  fs::create_directories(root_.path() / "etc");
  fs::create_symlink(Host() / "sentinel", root_.path() / "etc/filelink");
  EXPECT_EQ(Resolve("/etc/filelink", CreateKind::kFile), R(Host().relative_path() / "sentinel"));
  EXPECT_TRUE(fs::is_regular_file(root_.path() / Host().relative_path() / "sentinel"));
  EXPECT_EQ(sys::ReadFile(Host() / "sentinel").value_or(""), "host\n");
}

TEST_F(ResolveTest, LoopsAndNonDirectoriesAreErrors) {
  fs::create_symlink("/b", root_.path() / "a");
  fs::create_symlink("/a", root_.path() / "b");
  int err = 0;
  EXPECT_EQ(Resolve("/a/x", CreateKind::kDirectory, &err), "");
  EXPECT_EQ(err, ELOOP);
  ASSERT_TRUE(sys::WriteFile(root_.path() / "file", ""));
  EXPECT_EQ(Resolve("/file/x", CreateKind::kDirectory, &err), "");
  EXPECT_EQ(err, ENOTDIR);
}

TEST(MagicLinkTest, ProcfsMagicLinksAreRefused) {
  // /proc/self/root jumps to a process's root whatever the lookup's root: RESOLVE_NO_MAGICLINKS.
  UniqueFd slash(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(slash);
  EXPECT_EQ(OpenInRoot(slash.get(), "/proc/self/root/etc", CreateKind::kNone), -ELOOP);
  int fd = OpenInRoot(slash.get(), "/proc/self/status", CreateKind::kNone);  // a plain link
  EXPECT_GE(fd, 0);
  if (fd >= 0) ::close(fd);
}

TEST_F(ResolveTest, ParentAndNameForAtCalls) {
  fs::create_directories(root_.path() / "real");
  fs::create_symlink(Host(), root_.path() / "dev");
  const char* name = nullptr;
  int fd = OpenParentInRoot(root_fd_.get(), "/dev/ptmx", true, &name);
  ASSERT_GE(fd, 0);
  UniqueFd owned(fd);
  EXPECT_STREQ(name, "ptmx");
  ASSERT_EQ(::symlinkat("pts/ptmx", fd, name), 0);
  EXPECT_TRUE(fs::is_symlink(root_.path() / Host().relative_path() / "ptmx"));
  EXPECT_EQ(OpenParentInRoot(root_fd_.get(), "/real/..", false, &name), -EINVAL);
  EXPECT_EQ(OpenParentInRoot(root_fd_.get(), "/", false, &name), -EINVAL);
}

TEST(ProcFdPathTest, FormatsTheFd) {
  EXPECT_STREQ(ProcFdPath(0).c_str(), "/proc/self/fd/0");
  EXPECT_STREQ(ProcFdPath(1234).c_str(), "/proc/self/fd/1234");
}

}  // namespace
}  // namespace podshim::oci
