// Reads one entry of spec.volumes: a name and exactly one source, emptyDir or hostPath.
#include "cgroups/quantity.h"
#include "shim/manifest/manifest_reader.h"

namespace podshim::shim::manifest_reader {
namespace {

EmptyDirVolume ReadEmptyDir(Reader& r, const YamlNode& n, const std::string& path) {
  EmptyDirVolume ed;
  Fields e(r, n, path, {"medium", "sizeLimit"});
  if (!e.ok()) return ed;
  if (auto* m = e.Get("medium")) {
    if (auto s = r.OneOf(*m, e.Path("medium"), {"", "Memory"})) ed.medium = *s;
  }
  if (auto* q = e.Get("sizeLimit")) {
    if (auto s = r.QuantityText(*q, e.Path("sizeLimit"))) {
      // Checked here, so that `validate` and `run` refuse the same sizes (exit 2).
      Result<int64_t> bytes = cgroups::ParseResourceQuantity("memory", *s);
      if (bytes) {
        ed.size_limit = QuantityField{"sizeLimit", *s, e.Path("sizeLimit")};
      } else {
        r.Fail(e.Path("sizeLimit"), bytes.error().ToString());
      }
    }
  }
  return ed;
}

HostPathVolume ReadHostPath(Reader& r, const YamlNode& n, const std::string& path) {
  HostPathVolume hp;
  Fields h(r, n, path, {"path", "type"});
  if (!h.ok()) return hp;
  // Kubernetes refuses ".." in hostPath.path (validatePathNoBacksteps).
  if (auto* p = h.Required("path")) {
    if (auto s = r.AbsolutePath(*p, h.Path("path"), /*no_dot_dot=*/true)) hp.path = *s;
  }
  if (auto* t = h.Get("type")) {
    if (auto s = r.OneOf(*t, h.Path("type"),
                         {"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                          "CharDevice", "BlockDevice"})) {
      hp.type = *s;
    }
  }
  return hp;
}

}  // namespace

std::optional<Volume> ReadVolume(Reader& r, const YamlNode& n, const std::string& path) {
  Fields f(r, n, path, {"name", "emptyDir", "hostPath"}, "volume");
  if (!f.ok()) return std::nullopt;
  Volume vol;
  f.ReadName("name", vol.name);
  int sources = (f.Has("emptyDir") ? 1 : 0) + (f.Has("hostPath") ? 1 : 0);
  if (sources != 1) {
    r.Fail(path, sources == 0 ? "must specify a volume source (emptyDir or hostPath)"
                              : "may not specify more than one volume source");
    return vol;
  }
  if (auto* v = f.Get("emptyDir")) {
    vol.source = ReadEmptyDir(r, *v, f.Path("emptyDir"));
  } else if (auto* v = f.Get("hostPath")) {
    vol.source = ReadHostPath(r, *v, f.Path("hostPath"));
  }
  return vol;
}

}  // namespace podshim::shim::manifest_reader
