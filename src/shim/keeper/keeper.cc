// The pod keeper (docs/decisions.md, "The pod keeper"): `podshim start`'s daemon forks, the child
// runs the shim, the parent execs `podshim-keeper --state-dir D --shim-pid N --fd F` (a small
// static binary of its own) with socket F to the shim. As child subreaper it
// becomes the parent of the shim's containers when the shim dies; it holds their output pipes'
// read ends (never reading them) and writes the exit of every orphan it reaps to
// <state-dir>/orphan-exits/<pid>-<start ticks>. One thread, one poll loop, bounded.
#include "shim/keeper/keeper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/page_trim.h"
#include "common/proc_stat.h"
#include "common/unique_fd.h"
#include "shim/keeper/keeper_protocol.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;
using keeper::MessageKind;

// The orphan-exit files this keeper wrote and removes when it ends; beyond this many the
// oldest names are forgotten (their files stay until the state dir goes).
constexpr size_t kMaxWrittenNames = 4096;

struct Held {
  keeper::PipeKey key;
  UniqueFd fd;
};

class Keeper {
 public:
  Keeper(fs::path state_dir, pid_t shim, UniqueFd shim_sock)
      : state_dir_(std::move(state_dir)), shim_(shim), client_(std::move(shim_sock)) {
    held_.reserve(keeper::kMaxHeldFds);
    pfds_.reserve(keeper::kMaxHeldFds + 3);
  }

  int Run();

 private:
  void Log(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  bool Done() const;
  void BuildPollSet();
  void Reap();
  void WriteOrphanExit(pid_t pid, uint64_t start_ticks, const siginfo_t& info);
  void OnClient();
  void OnHold(keeper::PipeKey key, UniqueFd fd);
  void OnTake();
  void Listen();
  void Accept();
  void CleanUp();

  fs::path state_dir_;
  pid_t shim_;
  bool shim_alive_ = true;
  bool shim_exited_ = false;  // it exited normally (its pod ended): the keeper ends too
  UniqueFd client_;           // the shim: first the inherited socket, later a taker's
  UniqueFd signals_;
  UniqueFd listener_;
  ino_t listener_ino_ = 0;
  UniqueFd log_;
  std::vector<Held> held_;
  std::vector<pollfd> pfds_;
  bool dirty_ = true;  // pfds_ no longer matches held_/client_/listener_
  std::vector<std::string> written_;
};

void Keeper::Log(const char* fmt, ...) {
  if (!log_) {
    // The shim's log; not made here (a keeper whose shim never got that far logs nothing).
    log_.Reset(::open((state_dir_ / "podshim.log").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!log_) return;
  }
  char line[512];
  int n = std::snprintf(line, sizeof line, "[keeper %d] ", ::getpid());
  va_list ap;
  va_start(ap, fmt);
  n += std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, fmt, ap);
  va_end(ap);
  if (n > static_cast<int>(sizeof line) - 2) n = sizeof line - 2;
  line[n++] = '\n';
  (void)!::write(log_.get(), line, static_cast<size_t>(n));
}

// Ends when the shim's pod ended, or, after the shim died, once nothing is left to keep: no
// shim connected, no fd held, no child to reap.
bool Keeper::Done() const {
  if (shim_exited_) return true;
  if (shim_alive_ || client_ || !held_.empty()) return false;
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

// [0] signals, [1] the shim (or -1), [2] the listener while no shim is connected (or -1),
// [3..] the held fds, polled for POLLHUP only (events 0: the data stays in the pipe).
void Keeper::BuildPollSet() {
  pfds_.clear();
  pfds_.push_back({signals_.get(), POLLIN, 0});
  pfds_.push_back({client_ ? client_.get() : -1, POLLIN, 0});
  const bool accepting = listener_ && !client_ && !shim_alive_;
  pfds_.push_back({accepting ? listener_.get() : -1, POLLIN, 0});
  for (const Held& h : held_) pfds_.push_back({h.fd.get(), 0, 0});
  dirty_ = false;
}

// Every child that exited: the shim (its end decides the keeper's), or an orphan of the shim,
// whose start time is read while it is still a zombie (WNOWAIT) to name its exit file.
void Keeper::Reap() {
  for (;;) {
    siginfo_t peek{};
    if (::waitid(P_ALL, 0, &peek, WEXITED | WNOHANG | WNOWAIT) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    const pid_t pid = peek.si_pid;
    if (pid == 0) return;
    uint64_t ticks = 0;
    if (pid != shim_) {
      if (auto st = ReadProcStat(pid)) ticks = st->start_ticks;
    }
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG) < 0) continue;
    if (pid == shim_) {
      shim_alive_ = false;
      shim_exited_ = info.si_code == CLD_EXITED;
      dirty_ = true;
      if (!shim_exited_ && !listener_) {
        // No next shim could take them (keeper.sock failed): held, they would only make the
        // writers block once the pipe is full; let go, they get EPIPE as without a keeper.
        Log("the shim %d died of signal %d; no keeper.sock, letting go of %zu pipe(s)", pid,
            info.si_status, held_.size());
        held_.clear();
      } else if (!shim_exited_) {
        Log("the shim %d died of signal %d; keeping %zu pipe(s) for the next one", pid,
            info.si_status, held_.size());
      }
    } else if (ticks != 0) {
      WriteOrphanExit(pid, ticks, info);
    }
  }
}

// Page cache is enough: this survives the shim, not the machine (nor does the process).
void Keeper::WriteOrphanExit(pid_t pid, uint64_t start_ticks, const siginfo_t& info) {
  const fs::path dir = keeper::OrphanExitDir(state_dir_);
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return;
  keeper::OrphanExit e{info.si_code != CLD_EXITED, info.si_status};
  const std::string name = keeper::OrphanExitName(pid, start_ticks);
  const std::string text = keeper::FormatOrphanExit(e);
  const fs::path tmp = dir / ("." + name);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::rename(tmp.c_str(), (dir / name).c_str()) < 0) {
    Log("write the exit of orphan %d: %s", pid, std::strerror(errno));
    (void)::unlink(tmp.c_str());
    return;
  }
  if (written_.size() == kMaxWrittenNames) written_.erase(written_.begin());
  written_.push_back(name);
}

void Keeper::OnClient() {
  Result<std::optional<keeper::Received>> r = keeper::Receive(client_.get());
  if (!r && r.error().code() == std::errc::resource_unavailable_try_again) return;
  if (!r || !*r) {
    if (!r) Log("%s; closing the shim's connection", r.error().ToString().c_str());
    client_.Reset();
    dirty_ = true;
    return;
  }
  keeper::Received& m = **r;
  switch (m.message.kind) {
    case MessageKind::kHold:
      if (m.fd) OnHold(std::move(m.message.key), std::move(m.fd));
      break;
    case MessageKind::kDrop:
      std::erase_if(held_, [&](const Held& h) { return h.key == m.message.key; });
      dirty_ = true;
      break;
    case MessageKind::kTake:
      OnTake();
      break;
    case MessageKind::kHeld:
    case MessageKind::kEnd:
      break;  // the keeper's own answers: ignored
  }
}

void Keeper::OnHold(keeper::PipeKey key, UniqueFd fd) {
  if (held_.size() >= keeper::kMaxHeldFds) {
    Log("holding %zu fds already: not keeping %s's", held_.size(), key.container.c_str());
    return;  // fd closes here
  }
  held_.push_back({std::move(key), std::move(fd)});
  dirty_ = true;
  if (!listener_) Listen();
}

// Every held fd goes to the taker (the keeper keeps its copy: it serves the next taker too).
void Keeper::OnTake() {
  // Bounded: a taker that stops reading fails the send after this long, not the keeper.
  timeval tv{2, 0};
  (void)::setsockopt(client_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  for (const Held& h : held_) {
    Status sent = keeper::Send(client_.get(), {MessageKind::kHeld, h.key}, h.fd.get());
    if (!sent) {
      Log("%s", sent.error().ToString().c_str());
      client_.Reset();
      dirty_ = true;
      return;
    }
  }
  (void)keeper::Send(client_.get(), {MessageKind::kEnd, {}});
  Log("handed %zu pipe(s) to a new shim", held_.size());
}

// <state-dir>/keeper.sock, made with the first fd held, accepted on only once the shim died.
// Another keeper of this state dir (a dead shim's, serving the shim this keeper forked) may be
// listening there already: then this one holds nothing to hand over anyway and does not listen.
void Keeper::Listen() {
  const fs::path path = keeper::SocketPath(state_dir_);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) {
    Log("%s is longer than a socket path may be: a new shim cannot take the pipes", path.c_str());
    return;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock) return;
  const auto* sa = reinterpret_cast<const sockaddr*>(&addr);
  if (::bind(sock.get(), sa, sizeof addr) < 0 && errno == EADDRINUSE) {
    UniqueFd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), sa, sizeof addr) == 0) {
      Log("another keeper listens on %s", path.c_str());
      listener_ino_ = 0;
      return;
    }
    (void)::unlink(path.c_str());  // a dead keeper's
    if (::bind(sock.get(), sa, sizeof addr) < 0) return;
  }
  struct stat st {};
  if (::chmod(path.c_str(), 0600) < 0 || ::listen(sock.get(), 4) < 0 ||
      ::stat(path.c_str(), &st) < 0) {
    Log("listen on %s: %s", path.c_str(), std::strerror(errno));
    (void)::unlink(path.c_str());
    return;
  }
  listener_ino_ = st.st_ino;
  listener_ = std::move(sock);
  dirty_ = true;
}

void Keeper::Accept() {
  UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
      cred.uid != ::geteuid()) {
    return;  // only the keeper's own user may take its fds
  }
  client_ = std::move(conn);
  dirty_ = true;
}

// Nothing of the keeper stays in the state dir: its socket (if still its own) and the orphan
// exits it wrote go (the directory too once empty).
void Keeper::CleanUp() {
  const fs::path path = keeper::SocketPath(state_dir_);
  struct stat st {};
  if (listener_ && ::stat(path.c_str(), &st) == 0 && st.st_ino == listener_ino_) {
    (void)::unlink(path.c_str());
  }
  const fs::path dir = keeper::OrphanExitDir(state_dir_);
  for (const std::string& name : written_) (void)::unlink((dir / name).c_str());
  (void)::rmdir(dir.c_str());
}

int Keeper::Run() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) return 1;
  signals_.Reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals_) return 1;
  // Whatever the shim leaves when it dies comes here (not to init), exit status included.
  (void)::prctl(PR_SET_CHILD_SUBREAPER, 1);
  Reap();  // the shim may have ended before the signalfd existed
  // Start-up ran once; the loop below touches a few pages of its own (common/page_trim.h).
  TrimResidentPages();
  while (!Done()) {
    if (dirty_) BuildPollSet();
    if (::poll(pfds_.data(), pfds_.size(), -1) < 0) {
      if (errno == EINTR) continue;
      Log("poll: %s", std::strerror(errno));
      break;
    }
    if (pfds_[0].revents != 0) {
      signalfd_siginfo si[8];
      while (::read(signals_.get(), si, sizeof si) > 0) {
      }
      Reap();
    }
    if (pfds_[1].revents != 0 && client_) OnClient();
    if (pfds_[2].revents != 0 && listener_ && !client_) Accept();
    // A held pipe whose writers are all gone keeps nothing worth handing over.
    for (size_t i = pfds_.size(); i-- > 3;) {
      if ((pfds_[i].revents & (POLLHUP | POLLERR | POLLNVAL)) == 0) continue;
      if (i - 3 < held_.size() && held_[i - 3].fd.get() == pfds_[i].fd) {
        held_.erase(held_.begin() + static_cast<ptrdiff_t>(i - 3));
        dirty_ = true;
      }
    }
  }
  CleanUp();
  return 0;
}

Result<int> ParseInt(std::string_view text) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Error::Invalid("not a number: " + std::string(text));
  }
  return v;
}

}  // namespace

int RunKeeper(int argc, char** argv) {
  std::string state_dir;
  std::optional<int> shim, fd;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string_view value = argv[i + 1];
    if (flag == "--state-dir") {
      state_dir = value;
    } else if (flag == "--shim-pid") {
      if (auto v = ParseInt(value)) shim = *v;
    } else if (flag == "--fd") {
      if (auto v = ParseInt(value)) fd = *v;
    }
  }
  if (state_dir.empty() || !shim || !fd || *shim <= 0 || *fd < 0) {
    std::fputs(
        "usage: podshim-keeper --state-dir D --shim-pid N --fd F (started by `podshim start`)\n",
        stderr);
    return 2;
  }
  (void)::fcntl(*fd, F_SETFD, FD_CLOEXEC);
  Keeper keeper(state_dir, *shim, UniqueFd(*fd));
  return keeper.Run();
}

}  // namespace podshim::shim
