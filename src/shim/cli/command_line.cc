#include "shim/cli/command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <sstream>
#include <utility>

#include "common/quoted.h"

namespace podshim::shim {
namespace {

// CLI11's formatter with podshim's layout: "usage: NAME USAGE" first, then the description, the
// options by group, the subcommands and the footer.
class UsageFormatter : public CLI::Formatter {
 public:
  explicit UsageFormatter(std::string usage) : usage_(std::move(usage)) { column_width(34); }
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
    std::ostringstream out;
    out << "usage: " << (name.empty() ? app->get_name() : name);
    if (!usage_.empty()) out << ' ' << usage_;
    out << '\n';
    if (!app->get_description().empty()) out << app->get_description() << '\n';
    out << make_groups(app, mode) << make_subcommands(app, mode);
    if (!app->get_footer().empty()) out << '\n' << app->get_footer() << '\n';
    std::string text = out.str();
    for (size_t at = text.find("\n\n\n"); at != std::string::npos; at = text.find("\n\n\n")) {
      text.erase(at, 1);
    }
    while (text.ends_with("\n\n")) text.pop_back();
    return text;
  }

 private:
  std::string usage_;
};

// An argument from the command line in an error: as typed when it is plain, else escaped.
std::string Shown(std::string_view arg, FlagStyle style) {
  std::string quoted = Quoted(arg);
  if (style == FlagStyle::kRunc) return quoted;
  return quoted == "\"" + std::string(arg) + "\"" ? std::string(arg) : quoted;
}

bool IsFlag(const CLI::Option& opt) { return opt.get_expected_max() == 0; }

std::string DisplayName(const CLI::Option& opt) {
  return opt.get_lnames().empty() ? "-" + opt.get_snames().front()
                                  : "--" + opt.get_lnames().front();
}

Error MissingValue(const std::string& name, FlagStyle style) {
  return Error::Invalid(style == FlagStyle::kRunc ? "option \"" + name + "\" needs a value"
                                                  : name + ": missing value");
}

Error TakesNoValue(const std::string& name, FlagStyle style) {
  return Error::Invalid(style == FlagStyle::kRunc ? "option \"" + name + "\" takes no value"
                                                  : name + ": takes no value");
}

}  // namespace

CommandLine::CommandLine(std::string name, std::string usage, std::string description,
                         FlagStyle style)
    : app_(std::make_unique<CLI::App>(std::move(description), std::move(name))), style_(style) {
  app_->formatter(std::make_shared<UsageFormatter>(std::move(usage)));
  app_->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)->group("options");
  app_->set_help_flag("-h,--help", "print this help and exit")->group("options");
}

CommandLine::~CommandLine() = default;

void AddedOption::Group(const std::string& heading) { option_->group(heading); }

AddedOption CommandLine::Value(const std::string& names, const std::string& value_name,
                               const std::string& help,
                               std::function<Status(const std::string&)> apply) {
  auto callback = [this, apply = std::move(apply)](const std::string& value) {
    if (error_) return;  // the first error is the one reported
    if (Status st = apply(value); !st) error_ = st.error();
  };
  CLI::Option* opt = app_->add_option_function<std::string>(names, std::move(callback), help);
  opt->type_name(value_name)->trigger_on_parse();
  return AddedOption(opt);
}

AddedOption CommandLine::Flag(const std::string& names, const std::string& help, bool* target) {
  return AddedOption(app_->add_flag(names, *target, help));
}

AddedOption CommandLine::FlagCallback(const std::string& names, const std::string& help,
                                      std::function<void()> on_set) {
  return AddedOption(app_->add_flag_callback(names, std::move(on_set), help));
}

void CommandLine::Subcommand(const std::string& name, const std::string& description) {
  app_->add_subcommand(name, description)->group("commands");
}

void CommandLine::Footer(const std::string& text) { app_->footer(text); }

std::string CommandLine::Help() const { return app_->help(); }

const CLI::Option* CommandLine::Find(std::string_view name, bool long_name) const {
  const std::string key(name);
  for (const CLI::Option* opt : app_->get_options()) {
    if (opt->get_positional()) continue;
    if (long_name ? opt->check_lname(key) : opt->check_sname(key)) return opt;
  }
  return nullptr;
}

Result<ParsedLine> CommandLine::Parse(std::span<char* const> args) {
  return Parse(std::vector<std::string>(args.begin(), args.end()));
}

Result<ParsedLine> CommandLine::Parse(const std::vector<std::string>& args) {
  ParsedLine out;
  auto is_help = [](const std::string& a) { return a == "-h" || a == "--help"; };
  std::vector<std::string> options;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      if (!options_anywhere_) break;
      out.positional.push_back(a);
      continue;
    }
    if (is_help(a)) out.help = true;
    options.push_back(a);
    // An option with its value in the next argument takes that argument along.
    std::string_view body = std::string_view(a).substr(a[1] == '-' ? 2 : 1);
    if (body.find('=') != std::string_view::npos) continue;
    const CLI::Option* opt = Find(body, body.size() > 1);
    if (opt && !IsFlag(*opt) && i + 1 < args.size()) options.push_back(args[++i]);
  }
  const bool after_dashes = i > 0 && args[i - 1] == "--";
  std::vector<std::string> tail(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (options_anywhere_ && after_dashes) {
    out.after_dashes = std::move(tail);
  } else {
    if (help_anywhere_ && !after_dashes) {
      out.help =
          out.help || std::any_of(tail.begin(), std::find(tail.begin(), tail.end(), "--"), is_help);
    }
    out.positional.insert(out.positional.end(), tail.begin(), tail.end());
  }
  if (out.help) return out;
  PODSHIM_TRY(ParseOptions(options));
  return out;
}

Status CommandLine::ParseOptions(const std::vector<std::string>& options) {
  std::vector<std::string> canonical = PODSHIM_TRY(Canonical(options));
  std::reverse(canonical.begin(), canonical.end());  // CLI11 takes them last first
  error_.reset();
  try {
    app_->parse(std::move(canonical));
  } catch (const CLI::Error& e) {
    return Error::Invalid(e.what());
  }
  if (error_) return *error_;
  return Ok();
}

// The options as CLI11 reads them: "--name=value" or "--name" (or "-n value" for a short-only
// one); bad forms are errors here, in the words of the style.
Result<std::vector<std::string>> CommandLine::Canonical(
    const std::vector<std::string>& options) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < options.size(); ++i) {
    const std::string& arg = options[i];
    const bool two_dashes = arg[1] == '-';
    std::string_view body = std::string_view(arg).substr(two_dashes ? 2 : 1);
    std::optional<std::string> inline_value;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const bool long_name = body.size() > 1;
    const CLI::Option* opt = nullptr;
    if (!long_name || two_dashes || style_ == FlagStyle::kRunc) opt = Find(body, long_name);
    if (!opt || body.empty()) return Error::Invalid("unknown option " + Shown(arg, style_));
    const std::string name = DisplayName(*opt);
    if (IsFlag(*opt)) {
      if (!inline_value) {
        out.push_back(name);
      } else if (style_ == FlagStyle::kRunc &&
                 (*inline_value == "true" || *inline_value == "false")) {
        out.push_back(name + "=" + *inline_value);
      } else {
        return TakesNoValue(name, style_);
      }
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < options.size()) {
      value = options[++i];
    } else {
      return MissingValue(name, style_);
    }
    if (name.starts_with("--") && !value.empty()) {  // CLI11 reads "--name=" as no value
      out.push_back(name + "=" + value);
    } else {
      out.push_back(name);
      out.push_back(value);
    }
  }
  return out;
}

void PrintErrorLines(std::string_view prefix, const Error& e) {
  std::string text = e.ToString();
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::fprintf(stderr, "%.*s%.*s\n", static_cast<int>(prefix.size()), prefix.data(),
                 static_cast<int>(end - start), text.data() + start);
    start = end + 1;
  }
}

}  // namespace podshim::shim
