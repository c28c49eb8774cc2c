// The one place podshim's errors become gRPC status codes for containerd (errdefs): bad input
// is InvalidArgument, a wrong state FailedPrecondition, a missing thing or process NotFound,
// what podshim cannot do Unimplemented. The message is podshim's own (Error::ToString).
#pragma once

#include "common/result.h"
#include "shim/ttrpc/rpc_call.h"

namespace podshim::shim::task {

ttrpc::Code CodeOf(const Error& error);
ttrpc::RpcError ToRpcError(const Error& error);

}  // namespace podshim::shim::task
