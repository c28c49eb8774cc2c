#include "cgroups/cpu_conversion.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace podshim::cgroups {
namespace {

// The upstream tables are checked in k8s_vectors_test.cc; these are the edges they leave out.
TEST(CpuConversionTest, HugeValuesClampInsteadOfOverflowing) {
  EXPECT_EQ(MilliCpuToShares(INT64_MAX), kMaxShares);
  EXPECT_EQ(MilliCpuToShares(INT64_MIN), kMinShares);
  EXPECT_EQ(MilliCpuToQuota(INT64_MAX, 1000000), INT64_MAX);
  EXPECT_EQ(MilliCpuToQuota(1, 1000), kMinCfsQuotaUs);
  EXPECT_EQ(SharesToMilliCpu(INT64_MAX), 9007199254740992000);
  EXPECT_EQ(QuotaToMilliCpu(INT64_MAX, 1000000), 9223372036854775);
  EXPECT_EQ(CpuWeightLinearOci(INT64_MAX), 351811220622833821);  // no clamp in old runc
  EXPECT_EQ(CpuWeightKubelet(INT64_MAX), kMaxCpuWeight);
  EXPECT_EQ(CpuWeight2025(INT64_MAX), kMaxCpuWeight);
}

TEST(CpuConversionTest, ZeroSharesMeansUnset) {
  EXPECT_EQ(CpuWeightLinearOci(0), 0);
  EXPECT_EQ(CpuWeightKubelet(0), 0);
  EXPECT_EQ(CpuWeight2025(0), 0);
  EXPECT_EQ(CpuWeightToSharesKubelet(0), 0);
  EXPECT_EQ(CpuSharesToWeight(0, CpuWeightFormula::k2025), 0);
}

TEST(CpuConversionTest, TheFormulasDifferWhereSemanticsSaysTheyDo) {
  // SEMANTICS 2.4: 1 CPU = 1024 shares is weight 100 in the 2025 curve, 39 on the line.
  EXPECT_EQ(CpuSharesToWeight(1024, CpuWeightFormula::k2025), 100);
  EXPECT_EQ(CpuSharesToWeight(1024, CpuWeightFormula::kLinear), 39);
  // Above the kernel's maximum the old OCI line goes past 10000; kubelet clamps.
  EXPECT_EQ(CpuWeightLinearOci(262145), 10000);
  EXPECT_EQ(CpuWeightLinearOci(300000), 11443);
  EXPECT_EQ(CpuWeightKubelet(300000), 10000);
  // The 2025 curve is monotonic over the whole share range.
  int64_t previous = 0;
  for (int64_t shares = 2; shares <= kMaxShares; ++shares) {
    int64_t weight = CpuWeight2025(shares);
    ASSERT_GE(weight, previous) << shares;
    ASSERT_LE(weight, kMaxCpuWeight) << shares;
    previous = weight;
  }
}

}  // namespace
}  // namespace podshim::cgroups
