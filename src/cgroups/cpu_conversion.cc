#include "cgroups/cpu_conversion.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace podshim::cgroups {

int64_t MilliCpuToShares(int64_t milli_cpu) {
  if (milli_cpu <= 0) return kMinShares;
  // Divide first when the product could overflow; the clamp makes the result the same.
  if (milli_cpu > kMaxShares * kMilliCpuPerCpu) return kMaxShares;
  return std::clamp(milli_cpu * kSharesPerCpu / kMilliCpuPerCpu, kMinShares, kMaxShares);
}

int64_t MilliCpuToQuota(int64_t milli_cpu, int64_t period_us) {
  if (milli_cpu == 0) return 0;
  __int128 quota = static_cast<__int128>(milli_cpu) * period_us / kMilliCpuPerCpu;
  return static_cast<int64_t>(
      std::clamp<__int128>(quota, kMinCfsQuotaUs, std::numeric_limits<int64_t>::max()));
}

int64_t SharesToMilliCpu(int64_t shares) {
  if (shares < kMinShares) return 0;
  return static_cast<int64_t>(
      (static_cast<__int128>(shares) * kMilliCpuPerCpu + kSharesPerCpu - 1) / kSharesPerCpu);
}

int64_t QuotaToMilliCpu(int64_t quota_us, int64_t period_us) {
  if (quota_us == -1 || period_us <= 0) return 0;
  return static_cast<int64_t>(static_cast<__int128>(quota_us) * kMilliCpuPerCpu / period_us);
}

namespace {

// 1 + ((shares - 2) * 9999) / 262142 without overflow for any int64.
int64_t LinearWeight(int64_t shares) {
  return static_cast<int64_t>(1 + (static_cast<__int128>(shares) - 2) * 9999 / 262142);
}

}  // namespace

int64_t CpuWeightLinearOci(int64_t shares) {
  if (shares == 0) return 0;
  return LinearWeight(shares);
}

int64_t CpuWeightKubelet(int64_t shares) {
  if (shares == 0) return 0;
  if (shares >= kMaxShares) return kMaxCpuWeight;
  return LinearWeight(shares);
}

int64_t CpuWeightToSharesKubelet(int64_t weight) {
  if (weight == 0) return 0;
  return static_cast<int64_t>((static_cast<__int128>(weight) - 1) * 262142 / 9999 + 2);
}

int64_t CpuWeight2025(int64_t shares) {
  if (shares == 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= kMaxShares) return kMaxCpuWeight;
  double l = std::log2(static_cast<double>(shares));
  double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return static_cast<int64_t>(std::ceil(std::pow(10.0, exponent)));
}

int64_t CpuSharesToWeight(int64_t shares, CpuWeightFormula formula) {
  return formula == CpuWeightFormula::kLinear ? CpuWeightKubelet(shares) : CpuWeight2025(shares);
}

}  // namespace podshim::cgroups
