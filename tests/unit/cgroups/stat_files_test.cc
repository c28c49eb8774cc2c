#include "cgroups/stat_files.h"

#include <gtest/gtest.h>

namespace podshim::cgroups {
namespace {

TEST(IoStatTest, ParsesEveryDeviceInOrder) {
  auto r = ParseIoStat(
      "8:0 rbytes=90112 wbytes=4096 rios=12 wios=1 dbytes=0 dios=0\n"
      "253:1 rbytes=5 wbytes=6 rios=7 wios=8 dbytes=9 dios=10\n");
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], (IoStatEntry{8, 0, 90112, 4096, 12, 1, 0, 0}));
  EXPECT_EQ((*r)[1], (IoStatEntry{253, 1, 5, 6, 7, 8, 9, 10}));
}

TEST(IoStatTest, EmptyFileAndUnknownKeys) {
  EXPECT_TRUE(ParseIoStat("")->empty());
  EXPECT_TRUE(ParseIoStat("\n")->empty());
  // iocost adds keys with other value forms; a device without keys is possible too.
  auto r = ParseIoStat("8:16 rbytes=1 cost.vrate=100.00 cost.usage=7 wbytes=2\n259:0\n");
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], (IoStatEntry{8, 16, 1, 2, 0, 0, 0, 0}));
  EXPECT_EQ((*r)[1], (IoStatEntry{259, 0}));
}

TEST(IoStatTest, BadDeviceOrValueNamesTheLine) {
  auto r = ParseIoStat("8:0 rbytes=1\nsda rbytes=1\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("line 2"), std::string::npos) << r.error().ToString();
  EXPECT_NE(r.error().ToString().find("\"sda\""), std::string::npos) << r.error().ToString();
  r = ParseIoStat("8:0 rbytes=-1\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("rbytes=-1"), std::string::npos) << r.error().ToString();
  EXPECT_FALSE(ParseIoStat("8: rbytes=1\n"));
  EXPECT_FALSE(ParseIoStat("8:0 wios=\n"));
}

TEST(HugetlbFileTest, PageSizeOfCurrentCountersOnly) {
  EXPECT_EQ(HugetlbCurrentPageSize("hugetlb.2MB.current"), "2MB");
  EXPECT_EQ(HugetlbCurrentPageSize("hugetlb.1GB.current"), "1GB");
  EXPECT_EQ(HugetlbCurrentPageSize("hugetlb.64KB.current"), "64KB");
  for (const char* other : {"hugetlb.2MB.rsvd.current", "hugetlb.2MB.max", "hugetlb.current",
                            "hugetlb..current", "memory.current", "hugetlb.2MB.events", ""}) {
    EXPECT_EQ(HugetlbCurrentPageSize(other), std::nullopt) << other;
  }
}

}  // namespace
}  // namespace podshim::cgroups
