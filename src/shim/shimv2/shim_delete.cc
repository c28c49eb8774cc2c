#include "shim/shimv2/shim_delete.h"

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "shim/proto/events.pb.h"
#include "shim/shimv2/shim_socket.h"
#include "shim/task/task_cleanup.h"
#include "shim/ttrpc/event_forwarder.h"

namespace podshim::shim::shimv2 {
namespace {

// Within containerd's 5 s for the whole `delete`.
constexpr std::chrono::milliseconds kOomPublishBudget{3000};

// After a crash of the shim server (the task's runtime state was still there: the server never
// deleted the task), containerd publishes the exit this command prints. An OOM kill its record
// marks goes to containerd first: CRI's OOMKilled comes only from TaskOOM, which the dead server
// may never have sent. After a normal Delete the server has said it already: nothing is sent.
void PublishOomAfterCrash(const ShimFlags& flags, const task::DeleteOutcome& outcome) {
  const char* address = std::getenv("TTRPC_ADDRESS");
  if (!outcome.oom || outcome.pid == 0 || address == nullptr || *address == '\0') return;
  boost::asio::io_context loop;
  ttrpc::EventForwarderOptions options;
  options.max_retries = 1;
  options.call_timeout = std::chrono::milliseconds(1500);
  options.retry_delay = std::chrono::milliseconds(200);
  ttrpc::EventForwarder events(loop, address, options);
  containerd::events::TaskOOM ev;
  ev.set_container_id(flags.id);
  events.Publish(flags.ns, "/tasks/oom", "containerd.events.TaskOOM", ev.SerializeAsString());
  events.Flush(kOomPublishBudget, [&](bool drained) {
    if (!drained) std::fprintf(stderr, "containerd-shim-podshim-v2 delete: TaskOOM not sent\n");
    loop.stop();
  });
  loop.run();
}

}  // namespace

int RunDelete(const ShimFlags& flags) {
  std::error_code ec;
  std::filesystem::path bundle = flags.bundle.empty() ? std::filesystem::current_path(ec)
                                                      : std::filesystem::path(flags.bundle);
  if (ec) {
    std::fprintf(stderr, "containerd-shim-podshim-v2 delete: no bundle: %s\n",
                 ec.message().c_str());
    return 1;
  }
  auto outcome = task::CleanupTask(bundle, flags.id);
  if (!outcome) {
    std::fprintf(stderr, "containerd-shim-podshim-v2 delete: %s\n",
                 outcome.error().ToString().c_str());
    return 1;
  }
  RemoveSocketIfStale(bundle);
  PublishOomAfterCrash(flags, *outcome);
  for (const std::string& warning : outcome->warnings) {
    std::fprintf(stderr, "containerd-shim-podshim-v2 delete: warning: %s\n", warning.c_str());
  }
  std::string bytes = task::ToDeleteResponse(*outcome).SerializeAsString();
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  return 0;
}

}  // namespace podshim::shim::shimv2
