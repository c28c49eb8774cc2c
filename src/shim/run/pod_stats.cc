#include "shim/run/pod_stats.h"

namespace podshim::shim {
namespace {

control::UsageCounters Read(const cgroups::CgroupManager* cgroups,
                            const std::optional<cgroups::CgroupPath>& cg) {
  control::UsageCounters u;
  if (!cgroups || !cg) return u;
  auto stats = cgroups->ReadStats(*cg);
  if (!stats) return u;
  u.cpu_usage_usec = stats->cpu_usage_usec;
  u.memory_current = stats->memory_current_bytes;
  u.pids_current = stats->pids_current;
  u.oom_kills = stats->oom_kills;
  return u;
}

}  // namespace

control::StatsResult CollectPodStats(const PodSnapshot& pod, const cgroups::CgroupManager* cgroups,
                                     const std::optional<cgroups::CgroupPath>& pod_cgroup,
                                     const std::map<std::string, cgroups::CgroupPath>& leaves) {
  control::StatsResult r;
  r.pod = Read(cgroups, pod_cgroup);
  for (const ContainerSnapshot& c : pod.containers) {
    control::ContainerStats s;
    s.name = c.name;
    s.role = std::string(ContainerRoleName(c.role));
    s.restart_count = c.restart_count;
    auto leaf = leaves.find(c.name);
    if (leaf != leaves.end()) s.usage = Read(cgroups, leaf->second);
    r.containers.push_back(std::move(s));
  }
  return r;
}

}  // namespace podshim::shim
