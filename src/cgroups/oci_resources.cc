#include "cgroups/oci_resources.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "cgroups/cgroup_fs.h"
#include "common/quoted.h"

namespace podshim::cgroups {
namespace {

using nlohmann::json;

// One JSON object of linux.resources and its dotted name, for typed reads whose errors name the
// field. A null member counts as absent (as Go's pointers in runc's spec types read it).
class Obj {
 public:
  Obj(const json* j, std::string path) : j_(j), path_(std::move(path)) {}
  std::string Path(std::string_view key) const { return path_ + "." + std::string(key); }
  const std::string& path() const { return path_; }

  const json* Find(std::string_view key) const {
    auto it = j_->find(key);
    return it == j_->end() || it->is_null() ? nullptr : &*it;
  }
  Result<std::optional<int64_t>> Int(std::string_view key) const {
    const json* v = Find(key);
    if (!v) return std::optional<int64_t>();
    if (!v->is_number_integer() || (v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX)) {
      return Error::Invalid(Path(key) + ": expected a 64-bit integer, got " + v->dump());
    }
    return std::optional<int64_t>(v->get<int64_t>());
  }
  Result<std::optional<uint64_t>> Uint(std::string_view key, uint64_t max = UINT64_MAX) const {
    const json* v = Find(key);
    if (!v) return std::optional<uint64_t>();
    if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0) ||
        v->get<uint64_t>() > max) {
      return Error::Invalid(Path(key) + ": expected an unsigned integer up to " +
                            std::to_string(max) + ", got " + v->dump());
    }
    return std::optional<uint64_t>(v->get<uint64_t>());
  }
  Result<std::optional<std::string>> Str(std::string_view key) const {
    const json* v = Find(key);
    if (!v) return std::optional<std::string>();
    if (!v->is_string()) return Error::Invalid(Path(key) + ": expected a string, got " + v->dump());
    return std::optional<std::string>(v->get<std::string>());
  }
  Result<bool> Bool(std::string_view key) const {
    const json* v = Find(key);
    if (!v) return false;
    if (!v->is_boolean()) return Error::Invalid(Path(key) + ": expected true or false");
    return v->get<bool>();
  }
  Result<std::optional<Obj>> Child(std::string_view key) const {
    const json* v = Find(key);
    if (!v) return std::optional<Obj>();
    if (!v->is_object()) return Error::Invalid(Path(key) + ": expected an object");
    return std::optional<Obj>(Obj(v, Path(key)));
  }
  // The objects of an array member, each named "<path>.<key>[i]".
  Result<std::vector<Obj>> Objects(std::string_view key) const {
    std::vector<Obj> out;
    const json* v = Find(key);
    if (!v) return out;
    if (!v->is_array()) return Error::Invalid(Path(key) + ": expected an array");
    for (size_t i = 0; i < v->size(); ++i) {
      std::string name = Path(key) + "[" + std::to_string(i) + "]";
      if (!(*v)[i].is_object()) return Error::Invalid(name + ": expected an object");
      out.emplace_back(&(*v)[i], std::move(name));
    }
    return out;
  }
  const json& raw() const { return *j_; }

 private:
  const json* j_;
  std::string path_;
};

void Add(OciResourceValues& out, std::string file, std::string value) {
  out.files.push_back({std::move(file), std::move(value)});
}

// runc's numToStr for memory and pids values: -1 "max", 0 unset, else the number; we also
// refuse other negative numbers instead of handing them to the kernel.
Result<std::optional<std::string>> LimitValue(const Obj& o, std::string_view key) {
  auto v = PODSHIM_TRY(o.Int(key));
  if (!v || *v == 0) return std::optional<std::string>();
  if (*v == -1) return std::optional<std::string>("max");
  if (*v < 0) {
    return Error::Invalid(o.Path(key) + ": expected -1 (unlimited), 0 (unset) or a positive " +
                          "number, got " + std::to_string(*v));
  }
  return std::optional<std::string>(std::to_string(*v));
}

Status MapPids(const Obj& r, OciResourceValues& out) {
  auto pids = PODSHIM_TRY(r.Child("pids"));
  if (!pids) return Ok();
  // runtime-spec 1.2: a limit of 0 or less is no limit in runc >= 1.2; runc 1.1 writes nothing
  // for 0. Both leave pids.max alone or at "max": we write "max" for any negative value.
  auto v = PODSHIM_TRY(pids->Int("limit"));
  if (!v || *v == 0) return Ok();
  Add(out, "pids.max", *v < 0 ? "max" : std::to_string(*v));
  return Ok();
}

Status MapMemory(const Obj& r, OciResourceValues& out) {
  auto mem = PODSHIM_TRY(r.Child("memory"));
  if (!mem) return Ok();
  const int64_t limit = PODSHIM_TRY(mem->Int("limit")).value_or(0);
  const int64_t swap = PODSHIM_TRY(mem->Int("swap")).value_or(0);
  auto max = PODSHIM_TRY(LimitValue(*mem, "limit"));
  auto low = PODSHIM_TRY(LimitValue(*mem, "reservation"));
  auto swap_v2 = SwapToCgroupV2(swap, limit);
  if (!swap_v2) return std::move(swap_v2).error().Wrap(mem->Path("swap"));
  // swap == limit means "no swap": runc writes 0 explicitly rather than leaving it unset.
  if (*swap_v2 != 0 || swap > 0) {
    Add(out, "memory.swap.max", *swap_v2 == -1 ? "max" : std::to_string(*swap_v2));
  }
  if (max) Add(out, "memory.max", *max);
  if (low) Add(out, "memory.low", *low);
  if (PODSHIM_TRY(mem->Bool("disableOOMKiller"))) {
    out.ignored.push_back(mem->Path("disableOOMKiller") +
                          ": cgroup v2 has no switch to disable the OOM killer");
  }
  for (const char* key : {"kernel", "kernelTCP", "swappiness"}) {
    if (PODSHIM_TRY(mem->Int(key)).value_or(0) != 0) {
      out.ignored.push_back(mem->Path(key) + ": a cgroup v1 setting, cgroup v2 has no such file");
    }
  }
  return Ok();
}

Status MapCpu(const Obj& r, const OciResourceOptions& options, OciResourceValues& out) {
  auto cpu = PODSHIM_TRY(r.Child("cpu"));
  if (!cpu) return Ok();
  if (auto idle = PODSHIM_TRY(cpu->Int("idle"))) Add(out, "cpu.idle", std::to_string(*idle));
  const uint64_t shares = PODSHIM_TRY(cpu->Uint("shares", INT64_MAX)).value_or(0);
  if (shares != 0) {
    const int64_t weight = CpuSharesToWeight(static_cast<int64_t>(shares), options.weight_formula);
    Add(out, "cpu.weight", std::to_string(weight));
  }
  const int64_t quota = PODSHIM_TRY(cpu->Int("quota")).value_or(0);
  const uint64_t period = PODSHIM_TRY(cpu->Uint("period")).value_or(0);
  if (quota < -1) {
    return Error::Invalid(cpu->Path("quota") + ": expected -1 (unlimited) or a positive " +
                          "number of microseconds, got " + std::to_string(quota));
  }
  if (quota != 0 || period != 0) {
    // runc: the quota or "max"; the period only when given (the kernel keeps the old one).
    std::string value = quota > 0 ? std::to_string(quota) : "max";
    if (period != 0) value += " " + std::to_string(period);
    Add(out, "cpu.max", value);
  }
  if (auto burst = PODSHIM_TRY(cpu->Uint("burst"))) {
    Add(out, "cpu.max.burst", std::to_string(*burst));
  }
  for (const char* key : {"realtimeRuntime", "realtimePeriod"}) {
    if (PODSHIM_TRY(cpu->Int(key)).value_or(0) != 0) {
      out.ignored.push_back(cpu->Path(key) + ": cgroup v2 has no realtime cpu files");
    }
  }
  for (auto [key, file] : {std::pair{"cpus", "cpuset.cpus"}, std::pair{"mems", "cpuset.mems"}}) {
    auto list = PODSHIM_TRY(cpu->Str(key));
    if (list && !list->empty()) Add(out, file, *list);
  }
  return Ok();
}

std::string DeviceKey(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

Result<std::string> DeviceOf(const Obj& d) {
  auto major = PODSHIM_TRY(d.Int("major"));
  auto minor = PODSHIM_TRY(d.Int("minor"));
  if (!major || !minor || *major < 0 || *minor < 0) {
    return Error::Invalid(d.path() + ": major and minor are required, non-negative integers");
  }
  return DeviceKey(*major, *minor);
}

Status MapBlockIo(const Obj& r, const OciResourceOptions& options, OciResourceValues& out) {
  auto io = PODSHIM_TRY(r.Child("blockIO"));
  if (!io) return Ok();
  auto weight = PODSHIM_TRY(io->Uint("weight", 1000));
  if (weight && *weight != 0) {
    if (*weight < 10) {
      return Error::Invalid(io->Path("weight") + ": expected 10 to 1000, got " +
                            std::to_string(*weight));
    }
    if (options.bfq) {
      Add(out, "io.bfq.weight", std::to_string(*weight));
    } else {
      Add(out, "io.weight", std::to_string(BlkioWeightToIoWeight(*weight)));
    }
  }
  if (PODSHIM_TRY(io->Uint("leafWeight")).value_or(0) != 0) {
    out.ignored.push_back(io->Path("leafWeight") + ": cgroup v2 has no leaf weight");
  }
  for (const Obj& d : PODSHIM_TRY(io->Objects("weightDevice"))) {
    const std::string dev = PODSHIM_TRY(DeviceOf(d));
    auto w = PODSHIM_TRY(d.Uint("weight", 1000));
    if (!w) continue;
    if (!options.bfq) {
      out.ignored.push_back(d.path() + ": per-device weights need the BFQ scheduler " +
                            "(no io.bfq.weight)");
      continue;
    }
    Add(out, "io.bfq.weight", dev + " " + std::to_string(*w));
  }
  for (auto [key, name] :
       {std::pair{"throttleReadBpsDevice", "rbps"}, std::pair{"throttleWriteBpsDevice", "wbps"},
        std::pair{"throttleReadIOPSDevice", "riops"},
        std::pair{"throttleWriteIOPSDevice", "wiops"}}) {
    for (const Obj& d : PODSHIM_TRY(io->Objects(key))) {
      const std::string dev = PODSHIM_TRY(DeviceOf(d));
      auto rate = PODSHIM_TRY(d.Uint("rate"));
      if (!rate) return Error::Invalid(d.path() + ".rate: required");
      // A rate of 0 removes the limit in v1; io.max spells that "max".
      Add(out, "io.max",
          dev + " " + name + "=" + (*rate == 0 ? std::string("max") : std::to_string(*rate)));
    }
  }
  return Ok();
}

Status MapHugetlb(const Obj& r, OciResourceValues& out) {
  for (const Obj& h : PODSHIM_TRY(r.Objects("hugepageLimits"))) {
    auto size = PODSHIM_TRY(h.Str("pageSize"));
    auto limit = PODSHIM_TRY(h.Uint("limit"));
    if (!size || !limit) return Error::Invalid(h.path() + ": pageSize and limit are required");
    bool ok = !size->empty();
    for (char c : *size) ok = ok && std::isalnum(static_cast<unsigned char>(c));
    if (!ok) {
      return Error::Invalid(h.path() + ".pageSize: " + Quoted(*size) +
                            " is not a page size such as \"2MB\" or \"1GB\"");
    }
    Add(out, "hugetlb." + *size + ".max", std::to_string(*limit));
  }
  return Ok();
}

Status MapRdma(const Obj& r, OciResourceValues& out) {
  auto rdma = PODSHIM_TRY(r.Child("rdma"));
  if (!rdma) return Ok();
  for (const auto& [device, limits] : rdma->raw().items()) {
    const std::string path = rdma->Path(device);
    if (device.empty() || device.find_first_of(" \n/") != std::string::npos) {
      return Error::Invalid(path + ": not a device name");
    }
    if (!limits.is_object()) return Error::Invalid(path + ": expected an object");
    Obj l(&limits, path);
    std::string line = device;
    if (auto h = PODSHIM_TRY(l.Uint("hcaHandles", UINT32_MAX))) {
      line += " hca_handle=" + std::to_string(*h);
    }
    if (auto o = PODSHIM_TRY(l.Uint("hcaObjects", UINT32_MAX))) {
      line += " hca_object=" + std::to_string(*o);
    }
    if (line != device) Add(out, "rdma.max", line);
  }
  return Ok();
}

Status MapUnified(const Obj& r, OciResourceValues& out) {
  auto unified = PODSHIM_TRY(r.Child("unified"));
  if (!unified) return Ok();
  for (const auto& [key, value] : unified->raw().items()) {
    const std::string path = unified->Path(key);
    if (key.find('/') != std::string::npos || key.find('.') == std::string::npos ||
        key.starts_with('.') || !ControlFile::Parse(key)) {
      return Error::Invalid(path + ": not a cgroup file name (\"<controller>.<file>\", no '/')");
    }
    if (key == "cgroup.procs" || key == "cgroup.threads" || key == "cgroup.subtree_control") {
      return Error::Invalid(path + ": podshim manages this file itself");
    }
    if (!value.is_string()) return Error::Invalid(path + ": expected a string value");
    Add(out, key, value.get<std::string>());
  }
  return Ok();
}

}  // namespace

Result<int64_t> SwapToCgroupV2(int64_t swap, int64_t memory) {
  // Unlimited memory with swap unset: both unlimited, as on cgroup v1.
  if (memory == -1 && swap == 0) return int64_t{-1};
  if (swap == -1 || swap == 0) return swap;
  if (swap < -1) return Error::Invalid("expected -1, 0 or a positive number of bytes");
  if (memory == 0 || memory == -1) {
    return Error::Invalid("a swap limit needs a memory limit (memory.limit)");
  }
  if (memory < 0) return Error::Invalid("memory.limit is negative");
  if (swap < memory) {
    return Error::Invalid("memory+swap (" + std::to_string(swap) +
                          ") must not be below memory.limit (" + std::to_string(memory) + ")");
  }
  return swap - memory;
}

uint64_t BlkioWeightToIoWeight(uint64_t weight) {
  if (weight == 0) return 0;
  return 1 + (weight - 10) * 9999 / 990;
}

Result<OciResourceValues> MapOciResources(std::string_view resources_json,
                                          const OciResourceOptions& options,
                                          std::string_view field) {
  OciResourceValues out;
  if (resources_json.empty()) return out;
  const json j = json::parse(resources_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Error::Invalid(std::string(field) + ": expected a JSON object");
  }
  const Obj r(&j, std::string(field));
  PODSHIM_TRY(MapPids(r, out));
  PODSHIM_TRY(MapMemory(r, out));
  PODSHIM_TRY(MapBlockIo(r, options, out));
  PODSHIM_TRY(MapCpu(r, options, out));
  PODSHIM_TRY(MapHugetlb(r, out));
  PODSHIM_TRY(MapRdma(r, out));
  if (auto net = PODSHIM_TRY(r.Child("network"))) {
    out.ignored.push_back(net->path() + ": cgroup v2 has no net_cls or net_prio controller");
  }
  PODSHIM_TRY(MapUnified(r, out));
  return out;
}

}  // namespace podshim::cgroups
