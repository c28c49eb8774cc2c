// Reads probes (startup, readiness, liveness) and lifecycle handlers (postStart, preStop): the
// handlers they share (exec, httpGet) and their own (tcpSocket and grpc; sleep), with
// SetDefaults_Probe applied by the model's initial values.
#include <tuple>

#include "common/quoted.h"
#include "shim/manifest/manifest_reader.h"

namespace podshim::shim::manifest_reader {
namespace {

using std::chrono::seconds;
using Ports = std::vector<ContainerPort>;

std::optional<ExecAction> ReadExec(Reader& r, const YamlNode& n, const std::string& path) {
  Fields f(r, n, path, {"command"});
  if (!f.ok()) return std::nullopt;
  const YamlNode* c = f.Required("command");
  if (!c) return std::nullopt;
  auto cmd = r.StringList(*c, f.Path("command"));
  if (!cmd) return std::nullopt;
  if (cmd->empty()) {
    r.Fail(f.Path("command"), "must not be empty");
    return std::nullopt;
  }
  return ExecAction{std::move(*cmd)};
}

// An IntOrString port: a number, or the name of one of the container's ports. Returns the
// number and the name as written (empty when numeric).
std::optional<std::pair<int, std::string>> ReadPort(Reader& r, const YamlNode& n,
                                                    const std::string& path, const Ports& ports) {
  if (n.is_scalar() && n.type() == YamlScalarType::kInt) {
    auto v = r.Int(n, path, 1, 65535);
    if (!v) return std::nullopt;
    return std::pair<int, std::string>(static_cast<int>(*v), "");
  }
  if (n.is_scalar() && n.type() == YamlScalarType::kString) {
    const std::string& name = n.text();
    for (const ContainerPort& p : ports) {
      if (!p.name.empty() && p.name == name) {
        return std::pair<int, std::string>(p.container_port, name);
      }
    }
    r.Fail(path, "no container port named " + Quoted(name));
    return std::nullopt;
  }
  r.Fail(path, "expected a port number or a container port name");
  return std::nullopt;
}

// The required `port` of an httpGet or tcpSocket handler; false when a problem was reported.
bool ReadHandlerPort(Reader& r, const Fields& f, const Ports& ports, int& port,
                     std::string& port_name) {
  const YamlNode* v = f.Required("port");
  if (!v) return false;
  auto p = ReadPort(r, *v, f.Path("port"), ports);
  if (p) std::tie(port, port_name) = *p;
  return p.has_value();
}

// httpGet.httpHeaders; false when a problem was reported.
bool ReadHttpHeaders(Reader& r, const YamlNode& n, const std::string& path,
                     std::vector<HttpHeader>& out) {
  bool ok = true;
  bool is_list = r.ForEachItem(n, path, [&](const YamlNode& item, const std::string& item_path) {
    Fields h(r, item, item_path, {"name", "value"});
    if (!h.ok()) {
      ok = false;
      return;
    }
    HttpHeader header;
    if (!h.ReadName("name", header.name)) ok = false;
    if (!h.ReadString("value", header.value)) ok = false;
    out.push_back(std::move(header));
  });
  return is_list && ok;
}

std::optional<HttpGetAction> ReadHttpGet(Reader& r, const YamlNode& n, const std::string& path,
                                         const Ports& ports) {
  Fields f(r, n, path, {"port", "path", "host", "scheme", "httpHeaders"});
  if (!f.ok()) return std::nullopt;
  HttpGetAction a;
  bool ok = ReadHandlerPort(r, f, ports, a.port, a.port_name);
  if (auto* v = f.Get("path")) {
    if (auto s = r.String(*v, f.Path("path"))) {
      if (!s->empty() && s->front() != '/') {
        r.Fail(f.Path("path"), "must start with \"/\"");
        ok = false;
      } else if (!s->empty()) {
        a.path = *s;
      }
    } else {
      ok = false;
    }
  }
  if (!f.ReadString("host", a.host)) ok = false;
  if (auto* v = f.Get("scheme")) {
    auto scheme = r.OneOf<HttpScheme>(*v, f.Path("scheme"),
                                      {{"HTTP", HttpScheme::kHttp}, {"HTTPS", HttpScheme::kHttps}});
    if (scheme) {
      a.scheme = *scheme;
    } else {
      ok = false;
    }
  }
  if (auto* v = f.Get("httpHeaders")) {
    if (!ReadHttpHeaders(r, *v, f.Path("httpHeaders"), a.http_headers)) ok = false;
  }
  if (!ok) return std::nullopt;
  return a;
}

std::optional<TcpSocketAction> ReadTcpSocket(Reader& r, const YamlNode& n, const std::string& path,
                                             const Ports& ports) {
  Fields f(r, n, path, {"port", "host"});
  if (!f.ok()) return std::nullopt;
  TcpSocketAction a;
  bool ok = ReadHandlerPort(r, f, ports, a.port, a.port_name);
  if (!f.ReadString("host", a.host)) ok = false;
  if (!ok) return std::nullopt;
  return a;
}

std::optional<GrpcAction> ReadGrpc(Reader& r, const YamlNode& n, const std::string& path) {
  Fields f(r, n, path, {"port", "service"});
  if (!f.ok()) return std::nullopt;
  GrpcAction a;
  bool ok = true;
  if (auto* v = f.Required("port")) {
    auto p = r.Int(*v, f.Path("port"), 1, 65535);
    ok = p.has_value();
    if (p) a.port = static_cast<int>(*p);
  } else {
    ok = false;
  }
  if (!f.ReadString("service", a.service)) ok = false;
  if (!ok) return std::nullopt;
  return a;
}

// The probe's one handler; false when a problem was reported.
bool ReadProbeHandler(Reader& r, const Fields& f, const Ports& ports, ProbeHandler& out) {
  int handlers = 0;
  for (std::string_view h : {"exec", "httpGet", "tcpSocket", "grpc"}) handlers += f.Has(h);
  if (handlers != 1) {
    r.Fail(f.path(),
           handlers == 0
               ? "must specify a handler (exec, httpGet, tcpSocket or grpc)"
               : "may not specify more than one handler (exec, httpGet, tcpSocket, grpc)");
    return false;
  }
  auto take = [&](auto action) {
    if (action) out = std::move(*action);
    return action.has_value();
  };
  if (auto* v = f.Get("exec")) return take(ReadExec(r, *v, f.Path("exec")));
  if (auto* v = f.Get("httpGet")) return take(ReadHttpGet(r, *v, f.Path("httpGet"), ports));
  if (auto* v = f.Get("tcpSocket")) return take(ReadTcpSocket(r, *v, f.Path("tcpSocket"), ports));
  return take(ReadGrpc(r, *f.Get("grpc"), f.Path("grpc")));
}

}  // namespace

std::optional<Probe> ReadProbe(Reader& r, const YamlNode& n, const std::string& path,
                               const Ports& ports) {
  Fields f(
      r, n, path,
      {"exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds", "periodSeconds",
       "timeoutSeconds", "successThreshold", "failureThreshold", "terminationGracePeriodSeconds"});
  if (!f.ok()) return std::nullopt;
  Probe probe;
  bool ok = ReadProbeHandler(r, f, ports, probe.handler);
  auto seconds_field = [&](std::string_view key, int64_t min, seconds& out) {
    if (auto* v = f.Get(key)) {
      auto s = r.Int(*v, f.Path(key), min, kInt32Max);
      ok = ok && s;
      if (s) out = seconds(*s);
    }
  };
  auto int_field = [&](std::string_view key, int& out) {
    if (auto* v = f.Get(key)) {
      auto s = r.Int(*v, f.Path(key), 1, kInt32Max);
      ok = ok && s;
      if (s) out = static_cast<int>(*s);
    }
  };
  seconds_field("initialDelaySeconds", 0, probe.initial_delay);
  seconds_field("periodSeconds", 1, probe.period);
  seconds_field("timeoutSeconds", 1, probe.timeout);
  int_field("successThreshold", probe.success_threshold);
  int_field("failureThreshold", probe.failure_threshold);
  if (auto* v = f.Get("terminationGracePeriodSeconds")) {
    auto s = r.Seconds(*v, f.Path("terminationGracePeriodSeconds"), 1);
    ok = ok && s;
    if (s) probe.termination_grace_period = *s;
  }
  if (!ok) return std::nullopt;
  return probe;
}

std::optional<LifecycleHandler> ReadLifecycleHandler(Reader& r, const YamlNode& n,
                                                     const std::string& path, const Ports& ports) {
  Fields f(r, n, path, {"exec", "httpGet", "sleep"}, "handler");
  if (!f.ok()) return std::nullopt;
  int handlers = f.Has("exec") + f.Has("httpGet") + f.Has("sleep");
  if (handlers != 1) {
    r.Fail(path, handlers == 0 ? "must specify a handler (exec, httpGet or sleep)"
                               : "may not specify more than one handler (exec, httpGet, sleep)");
    return std::nullopt;
  }
  if (auto* v = f.Get("exec")) {
    auto a = ReadExec(r, *v, f.Path("exec"));
    if (!a) return std::nullopt;
    return LifecycleHandler(std::move(*a));
  }
  if (auto* v = f.Get("httpGet")) {
    auto a = ReadHttpGet(r, *v, f.Path("httpGet"), ports);
    if (!a) return std::nullopt;
    return LifecycleHandler(std::move(*a));
  }
  Fields s(r, *f.Get("sleep"), f.Path("sleep"), {"seconds"});
  if (!s.ok()) return std::nullopt;
  const YamlNode* secs = s.Required("seconds");
  if (!secs) return std::nullopt;
  auto d = r.Seconds(*secs, s.Path("seconds"), 0);
  if (!d) return std::nullopt;
  return LifecycleHandler(SleepAction{*d});
}

}  // namespace podshim::shim::manifest_reader
