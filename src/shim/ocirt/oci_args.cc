#include "shim/ocirt/oci_args.h"

#include <optional>

#include "common/quoted.h"

namespace podshim::shim {
namespace {

const OciOption* Find(std::span<const OciOption> options, std::string_view name) {
  for (const OciOption& o : options) {
    if (o.name == name || (name.size() == 1 && o.short_name == name[0])) return &o;
  }
  return nullptr;
}

}  // namespace

std::string OciArgs::Value(std::string_view name, std::string fallback) const {
  auto it = values.find(std::string(name));
  return it == values.end() ? std::move(fallback) : it->second;
}

Result<OciArgs> ParseOciArgs(std::span<char* const> args, std::span<const OciOption> options) {
  OciArgs out;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the first positional ends the options
    std::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string_view name = body;
    std::optional<std::string_view> inline_value;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      inline_value = body.substr(eq + 1);
    }
    const OciOption* opt = Find(options, name);
    if (!opt) return Error::Invalid("unknown option " + Quoted(arg));
    std::string key(opt->name);
    if (!opt->takes_value) {
      if (inline_value && *inline_value != "true") {
        if (*inline_value != "false") {
          return Error::Invalid("option \"--" + key + "\" takes no value");
        }
        out.flags.erase(key);
        continue;
      }
      out.flags.insert(key);
      continue;
    }
    if (inline_value) {
      out.values[key] = std::string(*inline_value);
    } else if (i + 1 < args.size()) {
      out.values[key] = args[++i];
    } else {
      return Error::Invalid("option \"--" + key + "\" needs a value");
    }
  }
  for (; i < args.size(); ++i) out.positional.emplace_back(args[i]);
  return out;
}

}  // namespace podshim::shim
