#include "shim/cli/ctl_format.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace podshim::shim::control {
namespace {

using Json = nlohmann::ordered_json;

std::optional<Json> ParseObject(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// The value of a scalar as text: strings without quotes, null as "-".
std::string Scalar(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "-";
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Field(const Json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? "-" : Scalar(*it);
}

// Left-aligned columns separated by two spaces.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

// "running", "waiting (CrashLoopBackOff)", "terminated (Error, exit 1)".
std::string StateText(const Json& state) {
  if (!state.is_object() || state.empty()) return "-";
  auto first = state.begin();  // the one key: waiting | running | terminated
  const std::string kind = first.key();
  const Json& detail = first.value();
  std::vector<std::string> parts;
  if (detail.is_object()) {
    if (auto r = detail.find("reason"); r != detail.end() && r->is_string()) {
      parts.push_back(r->get<std::string>());
    }
    if (auto c = detail.find("exitCode"); c != detail.end() && c->is_number()) {
      parts.push_back("exit " + Scalar(*c));
    }
  }
  std::string out = kind;
  if (!parts.empty()) {
    out += " (" + parts[0];
    for (std::size_t i = 1; i < parts.size(); ++i) out += ", " + parts[i];
    out += ")";
  }
  return out;
}

std::string Counter(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "-"; }

std::string Bytes(const std::optional<uint64_t>& v) {
  if (!v) return "-";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double x = static_cast<double>(*v);
  int u = 0;
  while (x >= 1024 && u < 4) {
    x /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f%s" : "%.1f%s", x, units[u]);
  return buf;
}

std::string CpuText(const std::optional<uint64_t>& usec) {
  if (!usec) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3fs", static_cast<double>(*usec) / 1e6);
  return buf;
}

std::string StatusTextOf(const Json& j) {
  std::string out = "pod " + Field(j, "name") + ": " + Field(j, "phase");
  auto flag = [&j](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
  };
  out += flag("ready") ? ", ready" : ", not ready";
  if (flag("terminating")) out += ", terminating";
  if (auto q = j.find("qosClass"); q != j.end() && q->is_string() && !q->get<std::string>().empty())
    out += ", qos " + q->get<std::string>();
  out += "\n";
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "ROLE", "STATE", "READY", "RESTARTS", "PID", "LAST STATE"}};
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    auto it = j.find(list);
    if (it == j.end() || !it->is_array()) continue;
    for (const Json& c : *it) {
      if (!c.is_object()) continue;
      rows.push_back({Field(c, "name"), Field(c, "role"),
                      StateText(c.value("state", Json::object())), Field(c, "ready"),
                      Field(c, "restartCount"), Field(c, "pid"),
                      StateText(c.value("lastState", Json::object()))});
    }
  }
  if (rows.size() > 1) out += Table(rows);
  return out;
}

}  // namespace

std::string StatusText(std::string_view status_json) {
  std::optional<Json> j = ParseObject(status_json);
  if (!j) return std::string(status_json) + "\n";
  try {
    return StatusTextOf(*j);
  } catch (const Json::exception&) {
    return j->dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  }
}

std::vector<std::string> StatusContainerNames(std::string_view status_json) {
  std::vector<std::string> names;
  std::optional<Json> j = ParseObject(status_json);
  if (!j) return names;
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    auto it = j->find(list);
    if (it == j->end() || !it->is_array()) continue;
    for (const Json& c : *it) {
      if (!c.is_object()) continue;
      auto name = c.find("name");
      if (name != c.end() && name->is_string()) names.push_back(name->get<std::string>());
    }
  }
  return names;
}

std::string EventText(std::string_view event_json) {
  std::optional<Json> j = ParseObject(event_json);
  if (!j) return std::string(event_json);
  std::string out = Field(*j, "time") + " " + Field(*j, "type");
  if (j->contains("container")) out += " " + Field(*j, "container");
  for (const auto& [key, value] : j->items()) {
    if (key == "time" || key == "type" || key == "container" || key == "pod" || key == "role") {
      continue;
    }
    out += " " + key + "=" + Scalar(value);
  }
  return out;
}

std::string StatsText(const StatsResult& stats) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "ROLE", "CPU", "MEMORY", "PIDS", "OOM-KILLS", "RESTARTS"}};
  auto row = [](std::string name, std::string role, const UsageCounters& u, std::string restarts) {
    return std::vector<std::string>{std::move(name),           std::move(role),
                                    CpuText(u.cpu_usage_usec), Bytes(u.memory_current),
                                    Counter(u.pids_current),   Counter(u.oom_kills),
                                    std::move(restarts)};
  };
  rows.push_back(row("(pod)", "-", stats.pod, "-"));
  for (const ContainerStats& c : stats.containers) {
    rows.push_back(row(c.name, c.role, c.usage, std::to_string(c.restart_count)));
  }
  return Table(rows);
}

std::string ShimGoneText(const ShimGoneReport& r) {
  std::string out =
      "the shim is gone: cannot reach it at " + r.socket_path + ": " + r.reason + "\n";
  if (r.status_json) {
    out += "last known status (" + r.status_path + "):\n" + StatusText(*r.status_json);
    out +=
        "containers it shows running may still run, unsupervised, until `podshim run` or "
        "`podshim start` on this state dir stops them\n";
  } else {
    out += "no status: " + r.status_path + " cannot be read\n";
  }
  out += "exit records:\n";
  if (r.exits.empty()) out += "  (none)\n";
  for (const auto& [name, rec] : r.exits) {
    out += "  " + name + ": ";
    if (!rec) {
      out += "unreadable: " + rec.error().ToString();
    } else if (!*rec) {
      out += "none (no exit was recorded)";
    } else {
      out += "exit status " + std::to_string((*rec)->status);
      if ((*rec)->oom) out += " (OOM killed)";
    }
    out += "\n";
  }
  return out;
}

std::string ShimGoneJson(const ShimGoneReport& r) {
  Json j;
  j["ok"] = false;
  j["error"] = {
      {"code", std::string(ErrorCodeName(ErrorCode::kUnavailable))},
      {"message", "the shim is gone: cannot reach it at " + r.socket_path + ": " + r.reason}};
  Json status = nullptr;
  if (r.status_json) {
    Json s = Json::parse(*r.status_json, nullptr, /*allow_exceptions=*/false);
    if (!s.is_discarded()) status = std::move(s);
  }
  Json exits = Json::object();
  for (const auto& [name, rec] : r.exits) {
    if (!rec) {
      exits[name] = {{"error", rec.error().ToString()}};
    } else if (!*rec) {
      exits[name] = nullptr;
    } else {
      exits[name] = {{"status", (*rec)->status}, {"oom", (*rec)->oom}};
    }
  }
  j["lastKnown"] = {{"status", std::move(status)}, {"exitRecords", std::move(exits)}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace podshim::shim::control
