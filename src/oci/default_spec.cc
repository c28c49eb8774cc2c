#include "oci/default_spec.h"

#include <nlohmann/json.hpp>

#include "oci/features.h"

namespace podshim::oci {
namespace {

using nlohmann::json;

json Mount(const char* destination, const char* type, const char* source,
           std::vector<std::string> options) {
  json m = {{"destination", destination}, {"type", type}, {"source", source}};
  if (!options.empty()) m["options"] = std::move(options);
  return m;
}

json DefaultMounts() {
  return json::array({
      Mount("/proc", "proc", "proc", {}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
}

json DefaultCapabilities() {
  const json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  // Like runc's default: no inheritable (runc dropped it for CVE-2022-29162) and no ambient set,
  // so a non-root process keeps none of these across execve.
  return {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
}

}  // namespace

std::string DefaultSpecJson(const std::vector<std::string>& args) {
  json process = {
      {"terminal", false},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", args.empty() ? std::vector<std::string>{"sh"} : args},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
      {"cwd", "/"},
      {"capabilities", DefaultCapabilities()},
      {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
      {"noNewPrivileges", true},
  };
  json linux_config = {
      {"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
      {"namespaces",
       {{{"type", "pid"}},
        {{"type", "network"}},
        {{"type", "ipc"}},
        {{"type", "uts"}},
        {{"type", "mount"}},
        {{"type", "cgroup"}}}},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  json spec = {
      {"ociVersion", kOciVersionMax},
      {"process", std::move(process)},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "podshim"},
      {"mounts", DefaultMounts()},
      {"linux", std::move(linux_config)},
  };
  return spec.dump(2) + "\n";
}

}  // namespace podshim::oci
