#include "common/forked_call.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>
#include <string_view>

#include "common/sys.h"

namespace podshim {
namespace {

// The error crosses the pipe as "<category> <value>\n<context>": the categories podshim uses.
constexpr char kSystem = 's';
constexpr char kPodshim = 'p';
// The longest error context sent back; the rest is cut. The report must fit in the pipe's buffer
// (64 KiB): the parent reads it only after the child has exited, because processes the step
// started (a container's init waiting at its start gate) may hold the write end open for long.
constexpr size_t kMaxContext = 16 * 1024;

std::string Encode(const Error& e) {
  const char category = e.code().category() == PodshimCategory() ? kPodshim : kSystem;
  const int value = category == kPodshim || e.code().category() == std::system_category()
                        ? e.code().value()
                        : EIO;
  return std::string(1, category) + " " + std::to_string(value) + "\n" +
         e.context().substr(0, kMaxContext);
}

Error Decode(std::string_view text) {
  const size_t newline = text.find('\n');
  int value = 0;
  if (newline == std::string_view::npos || newline < 3 ||
      std::from_chars(text.data() + 2, text.data() + newline, value).ec != std::errc()) {
    return Error::Errno(EPROTO, "forked child: unreadable error report");
  }
  std::string context(text.substr(newline + 1));
  if (text[0] == kPodshim) return Error::Domain(static_cast<ErrorCode>(value), std::move(context));
  return Error::Errno(value, std::move(context));
}

}  // namespace

Status RunInForkedChild(const std::function<Status()>& step) {
  sys::PipePair pipe = PODSHIM_TRY(sys::Pipe(O_CLOEXEC | O_NONBLOCK));
  const pid_t child = ::fork();
  if (child < 0) return Error::Errno(errno, "fork");
  if (child == 0) {
    pipe.read.Reset();
    Status done = step();
    if (!done) (void)sys::WriteAll(pipe.write.get(), Encode(done.error()));
    ::_exit(done ? 0 : 1);
  }
  pipe.write.Reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    return Error::Errno(ECHILD,
                        "forked child killed by signal " + std::to_string(WTERMSIG(status)));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Ok();
  std::string report;
  char buf[4096];
  for (;;) {  // what the child wrote; EAGAIN (not EOF) ends it, see kMaxContext
    const ssize_t n = ::read(pipe.read.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || report.size() > kMaxContext + 64) break;
    report.append(buf, static_cast<size_t>(n));
  }
  if (report.empty()) {
    return Error::Errno(EPROTO, "forked child failed without a report (exit status " +
                                    std::to_string(WEXITSTATUS(status)) + ")");
  }
  return Decode(report);
}

}  // namespace podshim
