// The device filter on this host's real cgroup2 mount (root only): each test makes its own
// cgroup "podshim-itest-<pid>-dev-<n>" directly under the mount (or under
// PODSHIM_TEST_CGROUP_ROOT), attaches programs to it, forks children into it that open devices,
// and removes it in TearDown. BPF_CGROUP_DEVICE needs no controller, so this runs on hybrid hosts.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "cgroups/device_filter_attach.h"
#include "cgroups/device_program.h"
#include "cgroups/mountinfo.h"

namespace podshim::cgroups {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// What a child saw opening one device.
enum class Open { kOpened = 0, kEperm = 1, kOtherError = 2 };
struct Seen {
  Open null, zero;
  bool operator==(const Seen&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << "{null " << int(s.null) << ", zero " << int(s.zero) << "}";
}

constexpr DeviceRule kDenyAll{false, DeviceType::kAll, std::nullopt, std::nullopt,
                              kDeviceAllAccess};
DeviceRule Char(bool allow, uint32_t major, uint32_t minor) {
  return DeviceRule{allow, DeviceType::kChar, major, minor, kDeviceAllAccess};
}

class DeviceFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups and load BPF programs";
    fs::path root;
    if (const char* delegated = std::getenv("PODSHIM_TEST_CGROUP_ROOT"); delegated && *delegated) {
      root = delegated;
    } else {
      auto mount = ReadCgroup2Mount();
      if (!mount) GTEST_SKIP() << "no cgroup2 mount: " << mount.error().ToString();
      root = mount->mount_point;
    }
    static int counter = 0;
    dir_ = root /
           ("podshim-itest-" + std::to_string(::getpid()) + "-dev-" + std::to_string(++counter));
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0) << dir_ << ": " << std::strerror(errno);
    fd_ = UniqueFd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(fd_) << dir_ << ": " << std::strerror(errno);
  }

  void TearDown() override {
    fd_.Reset();
    if (dir_.empty()) return;
    // The children have exited and been reaped; the kernel may still count them briefly.
    for (int i = 0; i < 200 && ::rmdir(dir_.c_str()) < 0 && errno == EBUSY; ++i) {
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_FALSE(fs::exists(dir_)) << "leaked cgroup " << dir_;
  }

  // Forks a child that joins the cgroup, opens /dev/null and /dev/zero read-write and exits with
  // what it saw; nullopt (and a failure) when it could not join.
  std::optional<Seen> OpenInCgroup() {
    const std::string procs = (dir_ / "cgroup.procs").string();
    pid_t pid = ::fork();
    if (pid == 0) {
      int p = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (p < 0 || ::write(p, "0", 1) != 1) ::_exit(63);
      ::close(p);
      auto try_open = [](const char* path) {
        int fd = ::open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
          ::close(fd);
          return 0;
        }
        return errno == EPERM ? 1 : 2;
      };
      ::_exit(try_open("/dev/null") | try_open("/dev/zero") << 2);
    }
    EXPECT_GT(pid, 0);
    if (pid <= 0) return std::nullopt;
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status)) << status;
    int code = WEXITSTATUS(status);
    EXPECT_NE(code, 63) << "the child could not join " << dir_;
    if (!WIFEXITED(status) || code == 63) return std::nullopt;
    return Seen{static_cast<Open>(code & 3), static_cast<Open>(code >> 2 & 3)};
  }

  std::vector<uint32_t> Attached() {
    auto ids = AttachedDevicePrograms(fd_.get());
    EXPECT_TRUE(ids) << ids.error().ToString();
    return ids ? *ids : std::vector<uint32_t>{};
  }

  fs::path dir_;
  UniqueFd fd_;
};

TEST_F(DeviceFilterTest, DeniedDeviceCannotBeOpenedAllowedOneCan) {
  // Without a program both open: the denial below is the filter's doing.
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kOpened, Open::kOpened}));
  // podman's shape: deny everything, then allow what the container may use.
  auto id = ApplyDeviceRules(fd_.get(), {kDenyAll, Char(true, 1, 5)});
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(Attached(), std::vector<uint32_t>{*id});
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kEperm, Open::kOpened}));
}

TEST_F(DeviceFilterTest, RuncSpecDenyAllDeniesEveryDevice) {
  auto id = ApplyDeviceRules(fd_.get(), {kDenyAll});
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kEperm, Open::kEperm}));
}

TEST_F(DeviceFilterTest, PodmanDefaultListLoadsAndAllowsItsDevices) {
  // Deny all, mknod of any char/block device, the usual devices, /dev/pts/* (136:*).
  DeviceRules rules = {kDenyAll,
                       {true, DeviceType::kChar, std::nullopt, std::nullopt, kDeviceMknod},
                       {true, DeviceType::kBlock, std::nullopt, std::nullopt, kDeviceMknod}};
  for (auto [major, minor] : std::initializer_list<std::pair<uint32_t, uint32_t>>{
           {1, 3}, {1, 8}, {1, 7}, {5, 0}, {1, 5}, {1, 9}, {5, 1}, {5, 2}, {10, 200}}) {
    rules.push_back(Char(true, major, minor));
  }
  rules.push_back({true, DeviceType::kChar, 136, std::nullopt, kDeviceAllAccess});
  auto id = ApplyDeviceRules(fd_.get(), rules);
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kOpened, Open::kOpened}));
  // Without /dev/null's rule it is denied, mknod of it or not.
  rules.erase(rules.begin() + 3);
  ASSERT_TRUE(ApplyDeviceRules(fd_.get(), rules));
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kEperm, Open::kOpened}));
}

TEST_F(DeviceFilterTest, RuncSpecWithDefaultsKeepsTheStandardDevices) {
  // What create applies for `runc spec`'s list: the deny-all, then runc's defaults.
  auto id = ApplyDeviceRules(fd_.get(), WithDefaultDevices({kDenyAll}, {}));
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kOpened, Open::kOpened}));
  // linux.devices naming /dev/zero replaces its default: no rule, so denied.
  std::vector<std::string> paths = {"/dev/zero"};
  ASSERT_TRUE(ApplyDeviceRules(fd_.get(), WithDefaultDevices({kDenyAll}, paths)));
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kOpened, Open::kEperm}));
}

TEST_F(DeviceFilterTest, UpdateReplacesTheProgram) {
  auto first = ApplyDeviceRules(fd_.get(), {kDenyAll, Char(true, 1, 5)});
  ASSERT_TRUE(first) << first.error().ToString();
  auto second = ApplyDeviceRules(fd_.get(), {kDenyAll, Char(true, 1, 3)});
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_NE(*first, *second);
  EXPECT_EQ(Attached(), std::vector<uint32_t>{*second});  // not two filters, both denying
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kOpened, Open::kEperm}));
}

TEST_F(DeviceFilterTest, SeveralOldProgramsAreAllDetached) {
  // Two programs attached by someone else (with BPF_F_ALLOW_MULTI, as systemd does).
  for (int i = 0; i < 2; ++i) {
    auto prog = LoadDeviceProgram(BuildDeviceProgram({kDenyAll}));
    ASSERT_TRUE(prog) << prog.error().ToString();
    bpf_attr attr{};
    attr.target_fd = static_cast<uint32_t>(fd_.get());
    attr.attach_bpf_fd = static_cast<uint32_t>(prog->get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    ASSERT_EQ(::syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)), 0) << std::strerror(errno);
  }
  EXPECT_EQ(Attached().size(), 2u);
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kEperm, Open::kEperm}));
  auto id = ApplyDeviceRules(fd_.get(), {Char(true, 1, 3), Char(true, 1, 5)});
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(Attached(), std::vector<uint32_t>{*id});
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kOpened, Open::kOpened}));
}

TEST_F(DeviceFilterTest, DetachLiftsTheFilter) {
  ASSERT_TRUE(ApplyDeviceRules(fd_.get(), {kDenyAll}));
  auto detached = DetachDevicePrograms(fd_.get());
  ASSERT_TRUE(detached) << detached.error().ToString();
  EXPECT_TRUE(Attached().empty());
  EXPECT_EQ(OpenInCgroup(), (Seen{Open::kOpened, Open::kOpened}));
}

TEST_F(DeviceFilterTest, VerifierRejectionSaysWhy) {
  // An exit without setting r0: the kernel refuses it, and the error carries its log.
  std::vector<bpf_insn> bad(1);
  bad[0].code = BPF_JMP | BPF_EXIT;
  auto prog = LoadDeviceProgram(bad);
  ASSERT_FALSE(prog);
  EXPECT_EQ(prog.error().code(), std::errc::permission_denied) << prog.error().ToString();
  EXPECT_NE(prog.error().ToString().find("R0 !read_ok"), std::string::npos)
      << prog.error().ToString();
  EXPECT_TRUE(Attached().empty());  // nothing attached on failure
}

}  // namespace
}  // namespace podshim::cgroups
