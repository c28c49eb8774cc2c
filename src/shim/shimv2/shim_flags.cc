#include "shim/shimv2/shim_flags.h"

#include <string_view>

#include "common/quoted.h"

namespace podshim::shim::shimv2 {
namespace {

std::string* StringFlag(ShimFlags& f, std::string_view name) {
  if (name == "namespace") return &f.ns;
  if (name == "address") return &f.address;
  if (name == "publish-binary") return &f.publish_binary;
  if (name == "id") return &f.id;
  if (name == "bundle") return &f.bundle;
  if (name == "socket") return &f.socket;
  return nullptr;
}

bool* BoolFlag(ShimFlags& f, std::string_view name) {
  if (name == "debug") return &f.debug;
  if (name == "v" || name == "version") return &f.version;
  return nullptr;
}

}  // namespace

Result<ShimFlags> ParseShimFlags(std::span<char* const> args) {
  ShimFlags f;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') break;
    if (arg == "--") {
      ++i;
      break;
    }
    arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
    std::string_view name = arg.substr(0, arg.find('='));
    bool has_value = name.size() != arg.size();
    std::string_view value = has_value ? arg.substr(name.size() + 1) : std::string_view();
    if (bool* b = BoolFlag(f, name)) {
      *b = !has_value || (value != "false" && value != "0");
      continue;
    }
    std::string* s = StringFlag(f, name);
    if (s == nullptr) return Error::Invalid("unknown flag " + Quoted("-" + std::string(name)));
    if (!has_value) {
      if (i + 1 == args.size()) {
        return Error::Invalid("flag " + Quoted("-" + std::string(name)) + " needs a value");
      }
      value = args[++i];
    }
    *s = std::string(value);
  }
  if (i < args.size()) f.action = args[i++];
  if (i < args.size()) return Error::Invalid("unexpected argument " + Quoted(args[i]));
  if (f.version) return f;
  if (f.action != "start" && f.action != "delete") {
    return Error::Invalid(f.action.empty()
                              ? "no action: want start or delete"
                              : "unknown action " + Quoted(f.action) + ": want start or delete");
  }
  if (f.ns.empty()) return Error::Invalid("-namespace is required");
  if (f.id.empty()) return Error::Invalid("-id is required");
  return f;
}

}  // namespace podshim::shim::shimv2
