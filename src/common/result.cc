#include "common/result.h"

namespace podshim {
namespace {

class PodshimErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "podshim"; }
  std::string message(int c) const override {
    switch (static_cast<ErrorCode>(c)) {
      case ErrorCode::kInvalidSpec:
        return "invalid input";
      case ErrorCode::kUnsupported:
        return "not supported";
      case ErrorCode::kNotFound:
        return "not found";
      case ErrorCode::kConflict:
        return "conflict";
      case ErrorCode::kTimeout:
        return "timed out";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& PodshimCategory() {
  static const PodshimErrorCategory category;
  return category;
}

std::error_code make_error_code(ErrorCode c) {
  return std::error_code(static_cast<int>(c), PodshimCategory());
}

std::string Error::ToString() const {
  if (code_.category() == PodshimCategory() &&
      (code_ == ErrorCode::kInvalidSpec || code_ == ErrorCode::kUnsupported ||
       code_ == ErrorCode::kNotFound || code_ == ErrorCode::kConflict)) {
    return context_.empty() ? code_.message() : context_;
  }
  if (context_.empty()) return code_.message();
  return context_ + ": " + code_.message();
}

Error&& Error::Wrap(std::string_view outer) && {
  context_ = std::string(outer) + (context_.empty() ? "" : ": ") + context_;
  return std::move(*this);
}

Error Error::Wrapped(std::string_view outer) const& {
  Error copy = *this;
  return std::move(copy).Wrap(outer);
}

}  // namespace podshim
