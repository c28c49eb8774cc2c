// The manifest's entry points: the size cap and the one-document rule, the file read with its
// cap, and the joined errors of ParseManifest / LoadManifest. The reader itself is split by
// sub-object (manifest_reader.h, read_*.cc) over the field readers of reader_fields.h; the YAML
// library is behind yaml_document.h, which bounds the work per input. Cross-field rules
// (duplicate names, roles, volume references) live in manifest_validate.cc.
#include "shim/manifest/manifest.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <system_error>

#include "common/quoted.h"
#include "common/sys.h"
#include "shim/manifest/manifest_reader.h"
#include "shim/manifest/manifest_validate.h"
#include "shim/manifest/yaml_document.h"

namespace podshim::shim {

const QuantityField* FindQuantity(const ResourceList& list, std::string_view name) {
  for (const QuantityField& q : list) {
    if (q.name == name) return &q;
  }
  return nullptr;
}

const Container* FindContainer(const PodSpec& spec, std::string_view name) {
  for (const auto* list : {&spec.init_containers, &spec.containers}) {
    for (const Container& c : *list) {
      if (c.name == name) return &c;
    }
  }
  return nullptr;
}

std::string_view ProbeKindName(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kStartup:
      return "startup";
    case ProbeKind::kReadiness:
      return "readiness";
    case ProbeKind::kLiveness:
      return "liveness";
  }
  return "unknown";
}

ManifestCheck CheckManifest(std::string_view text, const std::filesystem::path& manifest_path) {
  ManifestCheck out;
  if (text.size() > kMaxManifestBytes) {
    out.errors.push_back(Error::Invalid("manifest: larger than the " +
                                        FormatByteLimit(kMaxManifestBytes) + " limit"));
    return out;
  }
  Result<std::vector<std::shared_ptr<const YamlNode>>> stream = ParseYamlStream(text, YamlLimits{});
  if (!stream) {
    out.errors.push_back(std::move(stream).error());
    return out;
  }
  std::vector<std::shared_ptr<const YamlNode>>& docs = *stream;
  // A trailing "---" yields an empty document; only real documents count.
  std::erase_if(docs, [](const auto& d) { return d->is_null(); });
  if (docs.empty()) {
    out.errors.push_back(Error::Invalid("manifest: empty document"));
    return out;
  }
  if (docs.size() > 1) {
    out.errors.push_back(Error::Invalid("manifest: expected one document (one Pod), found " +
                                        std::to_string(docs.size())));
    return out;
  }
  manifest_reader::Reader reader(manifest_path.parent_path());
  Pod pod = manifest_reader::ReadPod(reader, *docs.front());
  pod.manifest_path = manifest_path;
  out.errors = reader.TakeErrors();
  for (Error& e : ValidatePod(pod)) out.errors.push_back(std::move(e));
  if (out.errors.empty()) {
    out.pod = std::move(pod);
  } else {
    out.partial = std::move(pod);
  }
  return out;
}

namespace {

std::string_view FileTypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

// At most kMaxManifestBytes + 1 bytes of a regular file (one more than the limit, so that
// CheckManifest sees it is too large). A FIFO or a device is refused without reading (kubelet's
// file source also takes regular files only): a FIFO could block forever, /dev/zero never ends.
// The open does not block on a FIFO (O_NONBLOCK).
Result<std::string> ReadManifestText(const std::filesystem::path& path,
                                     const std::string& shown_path) {
  auto opened = sys::Open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!opened) return std::move(opened).error().Wrap("read manifest " + Quoted(shown_path));
  struct stat st {};
  if (::fstat(opened->get(), &st) < 0) {
    return Error::Errno(errno, "read manifest " + Quoted(shown_path));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error::Invalid("manifest: not a regular file (" + std::string(FileTypeName(st.st_mode)) +
                          ")");
  }
  auto text = sys::ReadAll(opened->get(), kMaxManifestBytes + 1);
  if (!text) return std::move(text).error().Wrap("read manifest " + Quoted(shown_path));
  return text;
}

}  // namespace

ManifestCheck CheckManifestFile(const std::filesystem::path& manifest_path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(manifest_path, ec);
  if (ec) abs = manifest_path;
  Result<std::string> text = ReadManifestText(abs, manifest_path.string());
  if (!text) {
    ManifestCheck out;
    out.errors.push_back(std::move(text).error());
    return out;
  }
  ManifestCheck out = CheckManifest(*text, abs);
  for (auto* pod : {&out.pod, &out.partial}) {
    if (*pod) (*pod)->manifest_path = manifest_path;
  }
  return out;
}

namespace {

// All errors in one: one problem per line, each prefixed with `prefix` when given.
Error JoinErrors(const std::vector<Error>& errors, const std::string& prefix) {
  if (errors.size() == 1 && errors.front().code() != make_error_code(ErrorCode::kInvalidSpec)) {
    return errors.front();  // an I/O error keeps its errno
  }
  std::string joined;
  for (const Error& e : errors) {
    if (!joined.empty()) joined += '\n';
    if (!prefix.empty()) joined += prefix + ": ";
    joined += e.ToString();
  }
  return Error::Invalid(std::move(joined));
}

}  // namespace

Result<Pod> ParseManifest(std::string_view text, const std::filesystem::path& manifest_path) {
  ManifestCheck check = CheckManifest(text, manifest_path);
  if (!check.errors.empty()) return JoinErrors(check.errors, "");
  return std::move(*check.pod);
}

Result<Pod> LoadManifest(const std::filesystem::path& manifest_path) {
  ManifestCheck check = CheckManifestFile(manifest_path);
  if (!check.errors.empty()) return JoinErrors(check.errors, manifest_path.string());
  return std::move(*check.pod);
}

}  // namespace podshim::shim
