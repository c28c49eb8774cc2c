#include "common/page_trim.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace podshim {
namespace {

// Two mappings of one binary as /proc/<pid>/smaps prints them, then what the loader relocated
// (read-only after RELRO, but copied on write), the heap, the binary's data, and the vDSO.
constexpr std::string_view kSmaps =
    "00400000-00401000 r--p 00000000 08:02 173521     /usr/bin/podshim\n"
    "Size:                  4 kB\n"
    "Rss:                   4 kB\n"
    "Anonymous:             0 kB\n"
    "VmFlags: rd mr mw me dw sd\n"
    "00401000-00800000 r-xp 00001000 08:02 173521     /usr/bin/podshim\n"
    "Size:               4092 kB\n"
    "Rss:                1088 kB\n"
    "Anonymous:             0 kB\n"
    "THPeligible:    0\n"
    "VmFlags: rd ex mr mw me dw sd\n"
    "00a00000-00a10000 r--p 00600000 08:02 173521     /usr/bin/podshim\n"
    "Rss:                  64 kB\n"
    "Anonymous:            12 kB\n"
    "00a10000-00a20000 rw-p 00610000 08:02 173521     /usr/bin/podshim\n"
    "Rss:                  64 kB\n"
    "Anonymous:            64 kB\n"
    "01000000-01100000 rw-p 00000000 00:00 0          [heap]\n"
    "Rss:                 100 kB\n"
    "Anonymous:           100 kB\n"
    "7ffd000-7ffe000 r-xp 00000000 00:00 0            [vdso]\n"
    "Rss:                   4 kB\n"
    "Anonymous:             0 kB\n";

TEST(TrimmableRanges, KeepsOnlyPrivateReadOnlyFilePagesWithNoCopy) {
  const std::vector<PageRange> ranges = TrimmableRanges(kSmaps);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].start, 0x400000u);
  EXPECT_EQ(ranges[0].end, 0x401000u);
  EXPECT_EQ(ranges[1].start, 0x401000u);
  EXPECT_EQ(ranges[1].end, 0x800000u);
}

TEST(TrimmableRanges, LeavesOutSharedMappingsAndMappingsWithNothingResident) {
  constexpr std::string_view smaps =
      "10000-20000 r--s 00000000 08:02 9   /dev/shm/x\n"
      "Rss:                   8 kB\n"
      "Anonymous:             0 kB\n"
      "20000-30000 r--p 00000000 08:02 9   /usr/lib/libc.so.6\n"
      "Rss:                   0 kB\n"
      "Anonymous:             0 kB\n";
  EXPECT_TRUE(TrimmableRanges(smaps).empty());
}

TEST(TrimmableRanges, IgnoresLinesItCannotRead) {
  EXPECT_TRUE(TrimmableRanges("").empty());
  EXPECT_TRUE(TrimmableRanges("garbage\nRss: 4 kB\n\n zz-yy r--p\n").empty());
  // A last mapping without a trailing newline still counts.
  EXPECT_EQ(TrimmableRanges("1000-2000 r--p 0 08:02 9 /bin/x\nRss: 4 kB").size(), 1u);
}

// The Rss of the mapping at `addr` in this process's smaps, in kB; -1 when not found.
long ResidentKb(const void* addr) {
  char start[32];
  std::snprintf(start, sizeof start, "%lx-", reinterpret_cast<unsigned long>(addr));
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool ours = false;
  while (std::getline(in, line)) {
    if (line.rfind(start, 0) == 0) ours = true;
    if (ours && line.rfind("Rss:", 0) == 0) return std::stol(line.substr(4));
  }
  return -1;
}

// Dropping the pages of a private read-only file mapping loses nothing: they leave this
// process's RSS, and the next read maps the same bytes from the page cache again.
TEST(TrimResidentPages, DropsReadOnlyFilePagesThatComeBackUnchanged) {
  const std::string path = ::testing::TempDir() + "page_trim_test." + std::to_string(::getpid());
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  std::ofstream(path, std::ios::binary) << data;
  FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  void* p = ::mmap(nullptr, data.size(), PROT_READ, MAP_PRIVATE, ::fileno(f), 0);
  ASSERT_NE(p, MAP_FAILED);
  const char* bytes = static_cast<const char*>(p);
  EXPECT_EQ(std::string(bytes, data.size()), data);
  EXPECT_GT(ResidentKb(p), 0);

  EXPECT_GE(TrimResidentPages(), 1);

  EXPECT_EQ(ResidentKb(p), 0);
  EXPECT_EQ(std::string(bytes, data.size()), data);
  ::munmap(p, data.size());
  std::fclose(f);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace podshim
