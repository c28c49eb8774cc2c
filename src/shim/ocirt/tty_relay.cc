#include "shim/ocirt/tty_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "common/sys.h"

namespace podshim::shim {
namespace {

constexpr size_t kChunk = 16 * 1024;
// Input kept for the master while the container does not read it; `in` is not read beyond.
constexpr size_t kMaxPending = 64 * 1024;
// After the exit: how long to wait for output still on its way to the master (the tty layer
// pushes it from a workqueue), and at most in all (a process outliving the container's init,
// without a pid namespace, may keep writing).
constexpr int kDrainQuietMs = 100;
constexpr auto kDrainMax = std::chrono::seconds(2);

// Our end of the ignored SIGPIPE: a closed `out` must not kill us with the terminal raw.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old_);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &old_, nullptr); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction old_ {};
};

struct Relay {
  const RelayFds& fds;
  const std::function<void(int)>& forward;
  std::string pending;  // read from `in`, not yet written to the master
  bool in_open = true;
  bool out_open = true;
  bool master_open = true;  // false once the slave side is closed (EIO) or gone

  // One read of the master into `out`. False at EOF/EIO (no slave left).
  bool ReadMaster() {
    char buf[kChunk];
    ssize_t n = ::read(fds.master, buf, sizeof buf);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) return false;
    if (out_open && !sys::WriteAll(fds.out, std::string_view(buf, static_cast<size_t>(n)))) {
      out_open = false;  // keep reading: the container must not block on a full pty
    }
    return true;
  }

  void ReadIn() {
    char buf[kChunk];
    ssize_t n = ::read(fds.in, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      in_open = false;  // EOF, or the caller's terminal hung up (EIO)
      return;
    }
    pending.append(buf, static_cast<size_t>(n));
  }

  void WriteMaster() {
    ssize_t n = ::write(fds.master, pending.data(), pending.size());
    if (n > 0) pending.erase(0, static_cast<size_t>(n));
    if (n < 0 && errno != EINTR && errno != EAGAIN) pending.clear();  // nobody will read it
  }

  Status ReadSignals() {
    struct signalfd_siginfo si;
    for (;;) {
      ssize_t n = ::read(fds.signal_fd, &si, sizeof si);
      if (n != static_cast<ssize_t>(sizeof si)) {
        if (n < 0 && errno != EAGAIN && errno != EINTR) return Error::Errno(errno, "signalfd");
        return Ok();
      }
      if (si.ssi_signo == SIGWINCH) {
        CopyWindowSize(fds.in, fds.master);
      } else {
        forward(static_cast<int>(si.ssi_signo));
      }
    }
  }

  // Until the pidfd is readable.
  Status Run() {
    for (;;) {
      struct pollfd p[4] = {
          {fds.pidfd, POLLIN, 0},
          {fds.signal_fd, POLLIN, 0},
          {master_open ? fds.master : -1,
           static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0},
          {in_open && pending.size() < kMaxPending ? fds.in : -1, POLLIN, 0},
      };
      int r = ::poll(p, 4, -1);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Error::Errno(errno, "poll");
      if (p[1].revents & POLLIN) PODSHIM_TRY(ReadSignals());  // before `in`: a resize first
      if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) master_open = ReadMaster();
      if (master_open && (p[2].revents & POLLOUT)) WriteMaster();
      if (!master_open) pending.clear();
      if (p[3].revents & (POLLIN | POLLHUP | POLLERR)) ReadIn();
      if (p[0].revents & POLLIN) return Ok();
    }
  }

  void Drain() {
    const auto end = std::chrono::steady_clock::now() + kDrainMax;
    while (master_open && std::chrono::steady_clock::now() < end) {
      struct pollfd p = {fds.master, POLLIN, 0};
      int r = ::poll(&p, 1, kDrainQuietMs);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return;
      master_open = ReadMaster();
    }
  }
};

}  // namespace

void CopyWindowSize(int from, int to) {
  struct winsize ws {};
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0 && (ws.ws_row != 0 || ws.ws_col != 0)) {
    (void)::ioctl(to, TIOCSWINSZ, &ws);
  }
}

Result<RawTerminal> RawTerminal::Enter(int fd) {
  RawTerminal t;
  if (!::isatty(fd)) return t;
  if (::tcgetattr(fd, &t.saved_) < 0) return Error::Errno(errno, "tcgetattr");
  struct termios raw = t.saved_;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSANOW, &raw) < 0) return Error::Errno(errno, "tcsetattr");
  t.fd_ = fd;
  return t;
}

RawTerminal::RawTerminal(RawTerminal&& o) noexcept : fd_(o.fd_), saved_(o.saved_) { o.fd_ = -1; }

RawTerminal::~RawTerminal() {
  if (fd_ >= 0) (void)::tcsetattr(fd_, TCSANOW, &saved_);
}

Status RelayTerminal(const RelayFds& fds, const std::function<void(int)>& forward) {
  IgnoreSigpipe no_sigpipe;
  // Only our fd: the caller's stdin and stdout may share one file description, whose blocking
  // mode is not ours to change.
  int flags = ::fcntl(fds.master, F_GETFL);
  if (flags < 0 || ::fcntl(fds.master, F_SETFL, flags | O_NONBLOCK) < 0) {
    return Error::Errno(errno, "fcntl pty master");
  }
  Relay relay{fds, forward, {}, true, true, true};
  PODSHIM_TRY(relay.Run());
  relay.Drain();
  return Ok();
}

}  // namespace podshim::shim
