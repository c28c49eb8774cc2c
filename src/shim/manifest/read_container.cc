// Reads one entry of spec.initContainers or spec.containers: its name and bundle, command line,
// env, ports, volume mounts, resources, probes and lifecycle hooks.
#include <functional>

#include "common/quoted.h"
#include "shim/manifest/manifest_reader.h"

namespace podshim::shim::manifest_reader {
namespace {

// Kubernetes IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]*, and not ".", ".." or "..<more>". An
// empty string means the name is fine.
std::string EnvVarNameProblem(std::string_view name) {
  bool ok = !name.empty() && !(name.front() >= '0' && name.front() <= '9');
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_');
  }
  if (!ok) {
    return "it must consist of letters, digits, '_', '-' or '.', and must not start with a digit";
  }
  if (name == ".") return "must not be '.'";
  if (name == "..") return "must not be '..'";
  if (name.starts_with("..")) return "must not start with '..'";
  return {};
}

// One env entry; an entry without a valid name is left out.
void ReadEnvVar(Reader& r, const YamlNode& n, const std::string& path, std::vector<EnvVar>& out) {
  Fields e(r, n, path, {"name", "value"}, "env");
  if (!e.ok()) return;
  EnvVar var;
  if (auto* nm = e.Required("name")) {
    if (auto s = r.NonEmptyString(*nm, e.Path("name"))) {
      if (s->find('\0') != std::string::npos) {
        r.Fail(e.Path("name"), "must not contain a NUL character");
      } else if (s->find('=') != std::string::npos) {
        r.Fail(e.Path("name"), "must not contain \"=\"");
      } else if (std::string problem = EnvVarNameProblem(*s); !problem.empty()) {
        r.Fail(e.Path("name"),
               Quoted(*s) + " is not a valid environment variable name: " + problem);
      } else {
        var.name = *s;
      }
    }
  }
  if (auto* val = e.Get("value")) {
    if (auto s = r.String(*val, e.Path("value"))) {
      if (s->find('\0') != std::string::npos) {  // execve could not pass it on
        r.Fail(e.Path("value"), "must not contain a NUL character");
      } else {
        var.value = *s;
      }
    }
  }
  if (!var.name.empty()) out.push_back(std::move(var));
}

// One ports entry; an entry that is not an object is left out.
void ReadPortEntry(Reader& r, const YamlNode& n, const std::string& path,
                   std::vector<ContainerPort>& out) {
  Fields p(r, n, path, {"name", "containerPort", "protocol"}, "port");
  if (!p.ok()) return;
  ContainerPort port;
  if (auto* nm = p.Get("name")) {
    if (auto s = r.NonEmptyString(*nm, p.Path("name"))) port.name = *s;
  }
  if (auto* cp = p.Required("containerPort")) {
    if (auto num = r.Int(*cp, p.Path("containerPort"), 1, 65535)) {
      port.container_port = static_cast<int>(*num);
    }
  }
  if (auto* pr = p.Get("protocol")) {
    if (auto s = r.OneOf(*pr, p.Path("protocol"), {"TCP", "UDP", "SCTP"})) port.protocol = *s;
  }
  out.push_back(std::move(port));
}

// One volumeMounts entry, kept even when broken so list indexes stay those of the manifest.
void ReadVolumeMount(Reader& r, const YamlNode& n, const std::string& path,
                     std::vector<VolumeMount>& out) {
  Fields m(r, n, path, {"name", "mountPath", "readOnly"}, "volumeMount");
  VolumeMount mount;
  if (m.ok()) {
    m.ReadName("name", mount.name);
    // podshim refuses ".." in mountPath as Kubernetes does in hostPath.path (docs/decisions.md).
    if (auto* p = m.Required("mountPath")) {
      if (auto s = r.AbsolutePath(*p, m.Path("mountPath"), /*no_dot_dot=*/true)) {
        mount.mount_path = *s;
      }
    }
    m.ReadBool("readOnly", mount.read_only);
  }
  out.push_back(std::move(mount));
}

// name, bundle, restartPolicy, command and args.
void ReadProcessFields(Reader& r, const Fields& f, Container& c) {
  f.ReadName("name", c.name);
  if (auto* v = f.Required("bundle")) {
    if (auto s = r.NonEmptyString(*v, f.Path("bundle"))) {
      std::filesystem::path b(*s);
      c.bundle = (b.is_absolute() ? b : r.manifest_dir() / b).lexically_normal();
    }
  }
  if (auto* v = f.Get("restartPolicy")) {
    c.restart_policy = r.OneOf<ContainerRestartPolicy>(
        *v, f.Path("restartPolicy"), {{"Always", ContainerRestartPolicy::kAlways}});
  }
  // An empty list is "not set", as in Kubernetes (kubelet overrides the image's entrypoint and
  // cmd only when len(command) / len(args) != 0): the bundle's process.args are used.
  if (auto* v = f.Get("command")) c.command = r.StringList(*v, f.Path("command"));
  if (c.command && c.command->empty()) c.command.reset();
  if (auto* v = f.Get("args")) c.args = r.StringList(*v, f.Path("args"));
  if (c.args && c.args->empty()) c.args.reset();
}

}  // namespace

Container ReadContainer(Reader& r, const YamlNode& n, const std::string& path, bool is_init) {
  Container c;
  c.is_init = is_init;
  Fields f(
      r, n, path,
      {"name", "bundle", "restartPolicy", "command", "args", "env", "workingDir", "ports",
       "volumeMounts", "resources", "startupProbe", "readinessProbe", "livenessProbe", "lifecycle"},
      "container");
  if (!f.ok()) return c;
  ReadProcessFields(r, f, c);
  // Each item of the list under `key`, when present.
  auto each = [&](std::string_view key,
                  const std::function<void(const YamlNode&, const std::string&)>& read_one) {
    if (auto* v = f.Get(key)) r.ForEachItem(*v, f.Path(key), read_one);
  };
  each("env", [&](const YamlNode& item, const std::string& p) { ReadEnvVar(r, item, p, c.env); });
  if (auto* v = f.Get("workingDir")) {
    c.working_dir = r.AbsolutePath(*v, f.Path("workingDir"), /*no_dot_dot=*/false);
  }
  each("ports",
       [&](const YamlNode& item, const std::string& p) { ReadPortEntry(r, item, p, c.ports); });
  each("volumeMounts", [&](const YamlNode& item, const std::string& p) {
    ReadVolumeMount(r, item, p, c.volume_mounts);
  });
  if (auto* v = f.Get("resources")) c.resources = ReadResources(r, *v, f.Path("resources"));
  // Probes and hooks come after ports, whatever the field order, so named ports resolve.
  if (auto* v = f.Get("startupProbe")) {
    c.startup_probe = ReadProbe(r, *v, f.Path("startupProbe"), c.ports);
  }
  if (auto* v = f.Get("readinessProbe")) {
    c.readiness_probe = ReadProbe(r, *v, f.Path("readinessProbe"), c.ports);
  }
  if (auto* v = f.Get("livenessProbe")) {
    c.liveness_probe = ReadProbe(r, *v, f.Path("livenessProbe"), c.ports);
  }
  if (auto* v = f.Get("lifecycle")) {
    Fields l(r, *v, f.Path("lifecycle"), {"postStart", "preStop"}, "lifecycle");
    if (l.ok()) {
      if (auto* h = l.Get("postStart")) {
        c.lifecycle.post_start = ReadLifecycleHandler(r, *h, l.Path("postStart"), c.ports);
      }
      if (auto* h = l.Get("preStop")) {
        c.lifecycle.pre_stop = ReadLifecycleHandler(r, *h, l.Path("preStop"), c.ports);
      }
    }
  }
  return c;
}

}  // namespace podshim::shim::manifest_reader
