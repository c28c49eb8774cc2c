// Bundles that runc runs run in podshim too (issue 11, section 2), end to end through the real
// binary (`podshim oci run`, PODSHIM_BINARY) on a busybox rootfs (fixtures/bundle.h): a
// config.json written by `runc spec` itself, and device nodes whose modes must not depend on the
// caller's umask. Needs root.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures/bundle.h"
#include "gtest/gtest.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// The runc binary: PATH first, then the sbin directories a test runner's PATH may lack.
std::string FindRunc() {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string d; std::getline(ss, d, ':');) dirs.push_back(d);
  }
  for (const char* d : {"/usr/local/sbin", "/usr/sbin", "/sbin"}) dirs.emplace_back(d);
  for (const std::string& d : dirs) {
    fs::path p = fs::path(d.empty() ? "." : d) / "runc";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

struct RunResult {
  int status = -1;  // exit status, or 128+N for a signal
  std::string out;
  std::string err;
};

// Sets the process umask for its lifetime (podshim inherits it through posix_spawn).
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

class OciRuncParityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts)";
    if (!fs::exists(PODSHIM_BINARY)) GTEST_SKIP() << PODSHIM_BINARY << " is not built";
    ASSERT_TRUE(bundle_.ok()) << bundle_.error();
    state_ = bundle_.dir() / "state";
    id_ = "parity-" + std::to_string(::getpid());
  }

  // config.json as `runc spec` writes it, in the bundle directory.
  std::string RuncSpec() {
    const std::string runc = FindRunc();
    const fs::path log = bundle_.dir() / "runc-spec.log";
    const std::string cmd =
        "cd '" + bundle_.dir().string() + "' && '" + runc + "' spec >'" + log.string() + "' 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << ReadText(log);
    return ReadText(bundle_.dir() / "config.json");
  }

  // config.json as podshim's own `oci spec` writes it.
  json PodshimSpec() {
    const fs::path log = bundle_.dir() / "podshim-spec.log";
    const std::string cmd = std::string(PODSHIM_BINARY) + " oci spec --bundle '" +
                            bundle_.dir().string() + "' >'" + log.string() + "' 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << ReadText(log);
    return json::parse(ReadText(bundle_.dir() / "config.json"), nullptr, false);
  }

  void Write(const json& config) {
    std::ofstream(bundle_.dir() / "config.json", std::ios::trunc) << config.dump(2);
  }

  // `podshim oci --root STATE run --bundle DIR ID`, stdout and stderr in files.
  RunResult Run() {
    std::vector<std::string> argv = {PODSHIM_BINARY,         "oci", "--root",
                                     state_.string(),        "run", "--bundle",
                                     bundle_.dir().string(), id_};
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const std::string out = (bundle_.dir() / "run.out").string();
    const std::string err = (bundle_.dir() / "run.err").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, PODSHIM_BINARY, &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    EXPECT_EQ(rc, 0);
    if (rc != 0) return {};
    int w = 0;
    while (::waitpid(pid, &w, 0) < 0 && errno == EINTR) {
    }
    int status = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
    return {status, ReadText(out), ReadText(err)};
  }

  podshim::testing::BusyboxBundle bundle_;
  fs::path state_;
  std::string id_;
};

// runc spec (1.1.5) lists CAP_AUDIT_WRITE, CAP_KILL and CAP_NET_BIND_SERVICE as ambient but has
// no inheritable set: the kernel refuses to raise them, so runc and crun skip them. So does
// podshim, with one warning, instead of failing every container.
TEST_F(OciRuncParityTest, ABundleFromRuncSpecRuns) {
  if (FindRunc().empty()) {
    GTEST_SKIP() << "runc is not installed (scripts/setup.sh installs it); this test needs "
                    "`runc spec` to write the bundle's config.json";
  }
  const std::string text = RuncSpec();
  json config = json::parse(text, nullptr, false);
  ASSERT_FALSE(config.is_discarded()) << text;
  // What this test is about: ambient capabilities without an inheritable set.
  ASSERT_FALSE(config["process"]["capabilities"]["ambient"].empty()) << text;
  ASSERT_FALSE(config["process"]["capabilities"].contains("inheritable")) << text;
  config["root"]["path"] = bundle_.rootfs().string();
  config["process"]["terminal"] = false;  // the output is read from pipes, not a pty
  config["process"]["args"] = {"sh", "-c", "echo ran as $(id -u); grep CapAmb /proc/self/status"};
  Write(config);

  RunResult r = Run();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("ran as 0\n"), std::string::npos) << r.out;
  // As under runc: nothing ambient.
  EXPECT_NE(r.out.find("CapAmb:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_EQ(Count(r.err,
                  "process.capabilities.ambient: CAP_KILL, CAP_NET_BIND_SERVICE, "
                  "CAP_AUDIT_WRITE are not also permitted and inheritable"),
            1u)
      << r.err;
  EXPECT_FALSE(fs::exists(state_ / id_));
}

// Device nodes get the spec's mode whatever the caller's umask: the default devices are 0666
// (a non-root user can write /dev/null, as under runc and crun) and a linux.devices entry with
// fileMode 0660 is exactly 0660. A node owned by another user gets that owner and its mode.
TEST_F(OciRuncParityTest, DeviceModesIgnoreTheCallersUmask) {
  json config = PodshimSpec();
  ASSERT_FALSE(config.is_discarded());
  config["root"]["path"] = bundle_.rootfs().string();
  config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  config["linux"]["devices"] = {{{"path", "/dev/testnull"},
                                 {"type", "c"},
                                 {"major", 1},
                                 {"minor", 3},
                                 {"fileMode", 0660},
                                 {"uid", 0},
                                 {"gid", 0}},
                                {{"path", "/dev/owned"},
                                 {"type", "c"},
                                 {"major", 1},
                                 {"minor", 3},
                                 {"fileMode", 0640},
                                 {"uid", 1000},
                                 {"gid", 2000}}};
  config["process"]["args"] = {
      "sh", "-c",
      "id -u; echo x > /dev/null && echo wrote; "
      "stat -c '%a %n' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "
      "/dev/testnull; stat -c '%a %u:%g %n' /dev/owned"};
  Write(config);

  for (mode_t mask : {mode_t{022}, mode_t{027}}) {
    SCOPED_TRACE("umask " + std::to_string(mask));
    RunResult r;
    {
      ScopedUmask umask(mask);
      r = Run();
    }
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_EQ(r.out,
              "1000\n"
              "wrote\n"
              "666 /dev/null\n"
              "666 /dev/zero\n"
              "666 /dev/full\n"
              "666 /dev/random\n"
              "666 /dev/urandom\n"
              "666 /dev/tty\n"
              "660 /dev/testnull\n"
              "640 1000:2000 /dev/owned\n")
        << r.err;
  }
}

}  // namespace
