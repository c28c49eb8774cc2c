// kubelet's cpu arithmetic (pkg/kubelet/cm/helpers_linux.go: millicores <-> cgroup v1 shares and
// CFS quota) and the three cpu.shares -> cgroup v2 cpu.weight conversions in use (SEMANTICS 2.4):
// the 2025 runc >= 1.3.2 / crun >= 1.23 curve, kubelet's getCPUWeight, and the old OCI linear one.
// Pure.
#pragma once

#include <cstdint>

namespace podshim::cgroups {

inline constexpr int64_t kMinShares = 2;
inline constexpr int64_t kMaxShares = 262144;
inline constexpr int64_t kSharesPerCpu = 1024;
inline constexpr int64_t kMilliCpuPerCpu = 1000;
inline constexpr int64_t kDefaultCfsPeriodUs = 100000;  // QuotaPeriod
inline constexpr int64_t kMinCfsQuotaUs = 1000;         // MinQuotaPeriod
inline constexpr int64_t kMaxCpuWeight = 10000;

// MilliCPUToShares: <= 0 -> 2; else floor(m * 1024 / 1000) clamped to [2, 262144].
int64_t MilliCpuToShares(int64_t milli_cpu);
// MilliCPUToQuota: 0 -> 0 (no limit); else floor(m * period / 1000), at least 1000 us.
int64_t MilliCpuToQuota(int64_t milli_cpu, int64_t period_us);
// SharesToMilliCPU: < 2 -> 0; else ceil(shares * 1000 / 1024).
int64_t SharesToMilliCpu(int64_t shares);
// QuotaToMilliCPU: -1 -> 0; else floor(quota * 1000 / period).
int64_t QuotaToMilliCpu(int64_t quota_us, int64_t period_us);

// runc <= 1.3.1 / crun <= 1.22: 1 + ((shares - 2) * 9999) / 262142; 0 -> 0 (unset).
int64_t CpuWeightLinearOci(int64_t shares);
// kubelet getCPUWeight (its own pod and QoS cgroups): the same line, >= 262144 -> 10000.
int64_t CpuWeightKubelet(int64_t shares);
// kubelet cpuWeightToCPUShares, the inverse used when reading a weight back.
int64_t CpuWeightToSharesKubelet(int64_t weight);
// runc >= 1.3.2 / crun >= 1.23: 0 -> 0; <= 2 -> 1; >= 262144 -> 10000; else
// ceil(10^((l^2 + 125 l) / 612 - 7/34)) with l = log2(shares). Computed in double as upstream does;
// no share count lies near enough to an integer weight for the rounding to differ.
int64_t CpuWeight2025(int64_t shares);

enum class CpuWeightFormula {
  k2025,    // default (SEMANTICS 10): 1 CPU = 1024 shares -> weight 100
  kLinear,  // --cpu-weight-formula=linear: kubelet's getCPUWeight, 1024 -> 39
};
int64_t CpuSharesToWeight(int64_t shares, CpuWeightFormula formula);

}  // namespace podshim::cgroups
