// Error, Result<T> and Status: how every fallible function in podshim reports failure.
// Result<T> is a [[nodiscard]] std::expected<T, Error>; PODSHIM_TRY propagates errors upward.
// Errors carry a std::error_code (errno or a podshim domain code) and a "verb object" context.
#pragma once

#include <expected>
#include <string>
#include <system_error>
#include <utility>

namespace podshim {

enum class ErrorCode {
  kInvalidSpec = 1,  // bad input: config.json, manifest, command line
  kUnsupported,      // valid but not implemented or not available here
  kNotFound,
  kConflict,  // exists already, wrong state
  kTimeout,
};
const std::error_category& PodshimCategory();
std::error_code make_error_code(ErrorCode c);

class Error {
 public:
  Error(std::error_code code, std::string context)
      : code_(code), context_(std::move(context)) {}
  static Error Errno(int err, std::string context) {
    return Error(std::error_code(err, std::system_category()), std::move(context));
  }
  static Error Domain(ErrorCode c, std::string context) {
    return Error(make_error_code(c), std::move(context));
  }
  // Shorthand for the most common domain error: invalid input.
  static Error Invalid(std::string context) {
    return Domain(ErrorCode::kInvalidSpec, std::move(context));
  }

  const std::error_code& code() const { return code_; }
  const std::string& context() const { return context_; }
  // "context: cause"; for kInvalidSpec the context alone (it already says what is wrong).
  std::string ToString() const;
  // Prefixes "outer: " to the context.
  Error&& Wrap(std::string_view outer) &&;
  Error Wrapped(std::string_view outer) const&;

 private:
  std::error_code code_;
  std::string context_;
};

template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using std::expected<T, Error>::expected;
  Result(Error e) : std::expected<T, Error>(std::unexpect, std::move(e)) {}  // NOLINT implicit
};
using Status = Result<void>;

inline Status Ok() { return {}; }

}  // namespace podshim

template <>
struct std::is_error_code_enum<podshim::ErrorCode> : std::true_type {};

// Yields the value of a Result (nothing for a Status); on error returns it from the caller.
#define PODSHIM_TRY(expr)                                                       \
  ({                                                                            \
    auto podshim_try_ = (expr);                                                 \
    if (!podshim_try_) return std::unexpected(std::move(podshim_try_).error()); \
    std::move(podshim_try_).value();                                            \
  })

// Like PODSHIM_TRY, but prefixes the error's context with `what` ("apply memory.max").
#define PODSHIM_TRY_WRAP(expr, what)                                                        \
  ({                                                                                        \
    auto podshim_try_ = (expr);                                                             \
    if (!podshim_try_) return std::unexpected(std::move(podshim_try_).error().Wrap(what)); \
    std::move(podshim_try_).value();                                                        \
  })
