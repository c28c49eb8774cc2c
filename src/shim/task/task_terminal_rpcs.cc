// The task service's terminal side (task_service.h): handing a terminal task's pty to the
// relays at Create, and ResizePty (TIOCSWINSZ on the task's master, through the runtime).
#include <fcntl.h>

#include <cerrno>
#include <limits>

#include "common/quoted.h"
#include "shim/proto/task.pb.h"
#include "shim/task/rpc_errors.h"
#include "shim/task/rpc_payload.h"
#include "shim/task/task_service.h"

namespace podshim::shim::task {
namespace {

namespace v2 = containerd::task::v2;
using ttrpc::Code;
using ttrpc::RpcResult;

constexpr uint32_t kMaxWindowSide = std::numeric_limits<uint16_t>::max();

}  // namespace

Status TaskService::RelayTerminal(Task& task, CreatedTask& created) {
  task.master = std::move(created.master);
  if (!opts_.terminals) return Ok();
  UniqueFd relayed(::fcntl(task.master.get(), F_DUPFD_CLOEXEC, 3));
  if (!relayed) return Error::Errno(errno, "container " + Quoted(task.key.id) + ": dup pty master");
  return opts_.terminals->Start(task.key.id, std::move(relayed), std::move(created.stdin_fifo),
                                std::move(created.stdout_fifo));
}

RpcResult TaskService::ResizePty(const std::string& payload) {
  auto req = ParsePayload<v2::ResizePtyRequest>(payload, "ResizePty");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  if (!req->exec_id().empty()) {
    return ResizeExecPty(**found, req->exec_id(), req->width(), req->height());
  }
  const Task& task = **found;
  if (!task.master) {
    return Fail(Code::kFailedPrecondition,
                "container " + Quoted(task.key.id) + " has no terminal (created without one)");
  }
  if (req->width() > kMaxWindowSide || req->height() > kMaxWindowSide) {
    return Fail(Code::kInvalidArgument,
                "ResizePty: width and height: " + std::to_string(req->width()) + "x" +
                    std::to_string(req->height()) + " is over 65535");
  }
  Status resized = runtime_.ResizePty(task.master.get(), static_cast<uint16_t>(req->width()),
                                      static_cast<uint16_t>(req->height()));
  if (!resized) return std::unexpected(ToRpcError(resized.error()));
  return Reply(podshim::wire::Empty());
}

}  // namespace podshim::shim::task
