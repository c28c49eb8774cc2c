#include "shim/task/rpc_errors.h"

#include <cerrno>

namespace podshim::shim::task {

using ttrpc::Code;

Code CodeOf(const Error& error) {
  const std::error_code& ec = error.code();
  if (ec.category() == PodshimCategory()) {
    switch (static_cast<ErrorCode>(ec.value())) {
      case ErrorCode::kInvalidSpec:
        return Code::kInvalidArgument;
      case ErrorCode::kUnsupported:
        return Code::kUnimplemented;
      case ErrorCode::kNotFound:
        return Code::kNotFound;
      case ErrorCode::kConflict:
        return Code::kFailedPrecondition;
      case ErrorCode::kTimeout:
        return Code::kDeadlineExceeded;
    }
    return Code::kUnknown;
  }
  if (ec.category() != std::system_category()) return Code::kUnknown;
  switch (ec.value()) {
    case ESRCH:
    case ENOENT:
      return Code::kNotFound;
    case EEXIST:
      return Code::kAlreadyExists;
    case EINVAL:
      return Code::kInvalidArgument;
    case EPERM:
    case EACCES:
      return Code::kPermissionDenied;
    case ETIMEDOUT:
      return Code::kDeadlineExceeded;
    default:
      return Code::kUnknown;
  }
}

ttrpc::RpcError ToRpcError(const Error& error) { return {CodeOf(error), error.ToString()}; }

}  // namespace podshim::shim::task
