// The podshim binary's --version (runc's shape, which podman and containerd read) and its help
// texts: every one exits 0 and ends in a newline.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Output {
  int status = -1;
  std::string out;
};

// Runs PODSHIM_BINARY with `args` (no shell metacharacters), stderr discarded.
Output Podshim(const std::string& args) {
  Output o;
  const std::string cmd = std::string(PODSHIM_BINARY) + " " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return o;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) o.out.append(buf, n);
  const int w = ::pclose(p);
  o.status = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
  return o;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  return lines;
}

void ExpectRuncShapedVersion(const std::string& args) {
  SCOPED_TRACE(args);
  Output o = Podshim(args);
  ASSERT_EQ(o.status, 0);
  std::vector<std::string> lines = Lines(o.out);
  ASSERT_GE(lines.size(), 3u) << o.out;
  EXPECT_EQ(lines[0].rfind("podshim version ", 0), 0u) << o.out;
  EXPECT_GT(lines[0].size(), std::string("podshim version ").size()) << o.out;
  EXPECT_EQ(lines[1].rfind("commit: ", 0), 0u) << o.out;
  EXPECT_GT(lines[1].size(), std::string("commit: ").size()) << o.out;
  EXPECT_EQ(lines[2], "spec: 1.2.0");
  EXPECT_EQ(o.out.back(), '\n');
}

TEST(VersionTest, PodshimAndPodshimOciAnswerInRuncsShape) {
  ExpectRuncShapedVersion("--version");
  ExpectRuncShapedVersion("oci --version");
  ExpectRuncShapedVersion("oci -v");
  EXPECT_EQ(Podshim("--version").out, Podshim("oci --version").out);
}

TEST(HelpTest, EveryHelpTextExitsZeroAndEndsInANewline) {
  for (const char* args :
       {"--help", "run --help", "start --help", "ctl --help", "validate --help", "resources --help",
        "oci --help", "oci create --help", "oci start --help", "oci run --help", "oci state --help",
        "oci kill --help", "oci delete --help", "oci list --help", "oci features --help",
        "oci spec --help", "oci help"}) {
    SCOPED_TRACE(args);
    Output o = Podshim(args);
    EXPECT_EQ(o.status, 0);
    ASSERT_FALSE(o.out.empty());
    EXPECT_EQ(o.out.back(), '\n');
    EXPECT_NE(o.out.find("usage: podshim"), std::string::npos) << o.out;
  }
}

}  // namespace
