// `podshim oci` with process.terminal, end to end with the real binary (PODSHIM_BINARY) on a
// busybox bundle from scripts/make-bundle.sh. As conmon and containerd's shim do: the test binds
// the console socket, receives the pty master (SCM_RIGHTS) after `create`, starts the container
// and talks to it through the master; it is the child subreaper, so it reaps the container and
// sees its exit status. The foreground relay runs `podshim oci run` on a pty the test owns.
// Needs root.
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include <cstring>

#include "oci_cli_fixture.h"

namespace podshim_test {
namespace {

// Reads `fd` until `want` shows up, EOF/EIO, or 10 s without a byte.
std::string ReadUntil(int fd, const std::string& want, std::string* sofar = nullptr) {
  std::string out = sofar ? *sofar : "";
  while (out.find(want) == std::string::npos) {
    struct pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) break;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  if (sofar) *sofar = out;
  return out;
}

// The caller's side of a pseudo-terminal pair the test owns; podshim runs on its slave as the
// session leader, like a shell's job in a terminal emulator.
struct OuterPty {
  int master = -1;
  int slave = -1;
  OuterPty() {
    master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) < 0 || ::unlockpt(master) < 0) return;
    slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  }
  // Sets the window size on the caller's side (SIGWINCH to the session); ioctl's result.
  int Resize(unsigned short rows, unsigned short cols) const {
    struct winsize ws {};
    ws.ws_row = rows;
    ws.ws_col = cols;
    return ::ioctl(master, TIOCSWINSZ, &ws);
  }
  ~OuterPty() {
    if (slave >= 0) ::close(slave);
    if (master >= 0) ::close(master);
  }
};

// Without /shared; the test is the child subreaper (as conmon and containerd's shim).
class OciTerminalTest : public OciCliFixture {
 protected:
  OciTerminalTest() {
    tmp_prefix_ = "podshim-oci-tty";
    subreaper_ = true;
    mount_shared_ = false;
  }

  void SetUp() override {
    OciCliFixture::SetUp();
    socket_path_ = tmp_ / "console.sock";
  }

  void WriteConfig(const std::string& script, bool terminal,
                   const std::function<void(json&)>& edit = {}) {
    OciCliFixture::WriteConfig(script, [&](json& c) {
      c["process"]["terminal"] = terminal;
      if (edit) edit(c);
    });
  }

  // Binds the console socket; `listen`: false leaves it refusing connections.
  int BindConsoleSocket(bool listen = true) {
    ::unlink(socket_path_.c_str());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0);
    if (listen) {
      EXPECT_EQ(::listen(fd, 1), 0);
    }
    return fd;
  }

  // Accepts the runtime's connection and receives its one message: the name and the fd.
  static int ReceiveMaster(int listener, std::string* name) {
    int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return -1;
    char buf[256];
    struct iovec iov = {buf, sizeof buf};
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    int fd = -1;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (n > 0 && c != nullptr && c->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      *name = std::string(buf, static_cast<size_t>(n));
    }
    char more;
    EXPECT_EQ(::read(conn, &more, 1), 0) << "one message, then the runtime closes";
    ::close(conn);
    return fd;
  }

  // Forks podshim `args` as the session leader of `pty`'s slave (its controlling terminal and
  // stdio). Returns the pid.
  pid_t SpawnOnPty(const OuterPty& pty, const std::vector<std::string>& args) {
    std::vector<std::string> argv = Argv(args);
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setsid() < 0 || ::ioctl(pty.slave, TIOCSCTTY, 0) < 0) ::_exit(120);
      for (int fd = 0; fd < 3; ++fd) ::dup2(pty.slave, fd);
      ::execve(PODSHIM_BINARY, cargv.data(), environ);
      ::_exit(127);
    }
    return pid;
  }

  bool NoState() {
    std::error_code ec;
    return !fs::exists(root_, ec) || fs::is_empty(root_, ec);
  }

  fs::path socket_path_;
};

TEST_F(OciTerminalTest, CreateSendsTheMasterOfTheContainersOwnPty) {
  WriteConfig("tty; stty size; read x; echo \"got $x\"; exit 4", true, [](json& c) {
    c["process"]["consoleSize"] = {{"height", 33}, {"width", 77}};
  });
  int listener = BindConsoleSocket();
  fs::path pid_file = tmp_ / "pid";
  CmdResult create = Podshim({"create", "--bundle", bundle_.string(), "--console-socket",
                              socket_path_.string(), "--pid-file", pid_file.string(), "t1"});
  ASSERT_EQ(create.status, 0) << create.err;
  std::string name;
  int master = ReceiveMaster(listener, &name);
  ::close(listener);
  ASSERT_GE(master, 0) << "no fd came over the console socket";
  EXPECT_EQ(name, "/dev/ptmx");
  const pid_t pid = std::stoi(ReadText(pid_file));

  CmdResult start = Podshim({"start", "t1"});
  ASSERT_EQ(start.status, 0) << start.err;
  std::string out;
  ReadUntil(master, "33 77\r\n", &out);
  ASSERT_EQ(::write(master, "hello\n", 6), 6);
  ReadUntil(master, "got hello\r\n", &out);
  EXPECT_NE(out.find("/dev/pts/0\r\n33 77\r\nhello\r\ngot hello\r\n"), std::string::npos)
      << "tty, stty size, the echoed input, the program's line; got: " << out;
  int w = 0;
  ASSERT_EQ(::waitpid(pid, &w, 0), pid);
  EXPECT_EQ(DecodeWait(w), 4);
  ::close(master);
  EXPECT_EQ(Podshim({"delete", "t1"}).status, 0);
  EXPECT_TRUE(NoState());
}

TEST_F(OciTerminalTest, RunDetachedSendsTheMasterTheTtyIsTheUsersAndTheConsole) {
  WriteConfig("stat -c '%u %t' $(tty); stat -c '%t:%T' /dev/console; read x; exit 9", true,
              [](json& c) {
                c["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
              });
  int listener = BindConsoleSocket();
  fs::path pid_file = tmp_ / "pid";
  CmdResult run = Podshim({"run", "-d", "--bundle", bundle_.string(), "--console-socket",
                           socket_path_.string(), "--pid-file", pid_file.string(), "t2"});
  ASSERT_EQ(run.status, 0) << run.err;
  std::string name;
  int master = ReceiveMaster(listener, &name);
  ::close(listener);
  ASSERT_GE(master, 0);
  // Owned by the process's uid (as runc's fixStdioPermissions); %t: major 136 (0x88) = pts.
  // /dev/console is the same pty, bind-mounted (runc's mountConsole).
  std::string out = ReadUntil(master, "88:0\r\n");
  EXPECT_EQ(out, "1000 88\r\n88:0\r\n");
  ASSERT_EQ(::write(master, "\n", 1), 1);
  const pid_t pid = std::stoi(ReadText(pid_file));
  int w = 0;
  ASSERT_EQ(::waitpid(pid, &w, 0), pid);
  EXPECT_EQ(DecodeWait(w), 9);
  ::close(master);
  EXPECT_EQ(Podshim({"delete", "t2"}).status, 0);
}

TEST_F(OciTerminalTest, ConsoleSocketErrorsLeaveNothingBehind) {
  WriteConfig("true", true);
  CmdResult no_socket = Podshim({"create", "--bundle", bundle_.string(), "e1"});
  EXPECT_EQ(no_socket.status, 1);
  EXPECT_NE(no_socket.err.find("cannot allocate a tty if podshim will detach without setting a "
                               "console socket"),
            std::string::npos)
      << no_socket.err;
  CmdResult run_d = Podshim({"run", "-d", "--bundle", bundle_.string(), "e2"});
  EXPECT_EQ(run_d.status, 1);
  EXPECT_NE(run_d.err.find("cannot allocate a tty"), std::string::npos) << run_d.err;

  int bound = BindConsoleSocket(/*listen=*/false);
  CmdResult refused = Podshim(
      {"create", "--bundle", bundle_.string(), "--console-socket", socket_path_.string(), "e3"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("--console-socket \"" + socket_path_.string() +
                             "\": connect: Connection refused"),
            std::string::npos)
      << refused.err;
  ::close(bound);

  int listener = BindConsoleSocket();
  CmdResult foreground = Podshim(
      {"run", "--bundle", bundle_.string(), "--console-socket", socket_path_.string(), "e4"});
  EXPECT_EQ(foreground.status, 1);
  EXPECT_NE(foreground.err.find("--console-socket: cannot use a console socket if podshim will "
                                "not detach or allocate a tty"),
            std::string::npos)
      << foreground.err;
  WriteConfig("true", false);
  CmdResult no_terminal = Podshim(
      {"create", "--bundle", bundle_.string(), "--console-socket", socket_path_.string(), "e5"});
  EXPECT_EQ(no_terminal.status, 1);
  EXPECT_NE(no_terminal.err.find("process.terminal is false"), std::string::npos)
      << no_terminal.err;
  // Nothing connected: the errors came before the socket was touched, or closed it unused.
  struct pollfd p = {listener, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "a refused command connected to the console socket";
  ::close(listener);
  EXPECT_TRUE(NoState());
}

TEST_F(OciTerminalTest, ForegroundRunRelaysTheCallersTerminal) {
  WriteConfig("stty size; echo ready; read x; echo \"got $x\"; read y; stty size; exit 6", true);
  OuterPty pty;
  ASSERT_GE(pty.slave, 0);
  ASSERT_EQ(pty.Resize(40, 100), 0);
  struct termios before {};
  ASSERT_EQ(::tcgetattr(pty.slave, &before), 0);
  ASSERT_TRUE(before.c_lflag & ECHO);

  pid_t pid = SpawnOnPty(pty, {"run", "--bundle", bundle_.string(), "f1"});
  ASSERT_GE(pid, 0);
  std::string out;
  ReadUntil(pty.master, "ready\r\n", &out);
  ASSERT_NE(out.find("40 100\r\nready\r\n"), std::string::npos)
      << "the caller's size is the container's; got: " << out;
  // podshim's terminal is raw now: what comes back is the container's pty echoing.
  ASSERT_EQ(::write(pty.master, "hello\r", 6), 6);
  ReadUntil(pty.master, "got hello\r\n", &out);
  EXPECT_NE(out.find("ready\r\nhello\r\ngot hello\r\n"), std::string::npos) << out;
  // A resize of the caller's terminal (SIGWINCH to podshim) reaches the container.
  ASSERT_EQ(pty.Resize(50, 120), 0);
  ASSERT_EQ(::write(pty.master, "\r", 1), 1);
  ReadUntil(pty.master, "50 120\r\n", &out);
  EXPECT_NE(out.find("got hello\r\n\r\n50 120\r\n"), std::string::npos) << out;
  int w = 0;
  ASSERT_EQ(::waitpid(pid, &w, 0), pid);
  EXPECT_EQ(DecodeWait(w), 6) << out;
  struct termios after {};
  ASSERT_EQ(::tcgetattr(pty.slave, &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag) << "the caller's terminal is given back as it was";
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
  EXPECT_TRUE(NoState());
}

// exec -t -d: a process joining a running container gets its own pty from the container's
// devpts, sent over the console socket; its status reaches the caller who reaps it.
TEST_F(OciTerminalTest, ExecDetachedWithTtySendsItsOwnMaster) {
  WriteConfig("trap 'exit 0' TERM; while :; do sleep 0.05; done", false);
  ASSERT_EQ(Podshim({"run", "-d", "--bundle", bundle_.string(), "e1"}).status, 0);
  int listener = BindConsoleSocket();
  fs::path pid_file = tmp_ / "epid";
  CmdResult exec =
      Podshim({"exec", "-t", "-d", "--console-socket", socket_path_.string(), "--pid-file",
               pid_file.string(), "e1", "sh", "-c", "tty; read x; echo \"got $x\"; exit 5"});
  ASSERT_EQ(exec.status, 0) << exec.err;
  std::string name;
  int master = ReceiveMaster(listener, &name);
  ::close(listener);
  ASSERT_GE(master, 0) << "no fd came over the console socket";
  std::string out = ReadUntil(master, "/dev/pts/");
  ASSERT_EQ(::write(master, "hi\n", 3), 3);
  ReadUntil(master, "got hi\r\n", &out);
  EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;
  EXPECT_NE(out.find("hi\r\ngot hi\r\n"), std::string::npos) << out;
  const pid_t pid = std::stoi(ReadText(pid_file));
  int w = 0;
  ASSERT_EQ(::waitpid(pid, &w, 0), pid);
  EXPECT_EQ(DecodeWait(w), 5);
  ::close(master);
  EXPECT_EQ(Podshim({"delete", "--force", "e1"}).status, 0);
  EXPECT_TRUE(NoState());
}

// exec -t in the foreground relays the caller's terminal as `run` does, with its window size.
TEST_F(OciTerminalTest, ExecForegroundWithTtyRelaysTheCallersTerminal) {
  WriteConfig("trap 'exit 0' TERM; while :; do sleep 0.05; done", false);
  ASSERT_EQ(Podshim({"run", "-d", "--bundle", bundle_.string(), "e2"}).status, 0);
  OuterPty pty;
  ASSERT_GE(pty.slave, 0);
  ASSERT_EQ(pty.Resize(21, 61), 0);
  pid_t pid = SpawnOnPty(
      pty, {"exec", "-t", "e2", "sh", "-c", "stty size; read x; echo \"got $x\"; exit 7"});
  ASSERT_GE(pid, 0);
  std::string out;
  ReadUntil(pty.master, "21 61\r\n", &out);
  ASSERT_EQ(::write(pty.master, "yo\r", 3), 3);
  ReadUntil(pty.master, "got yo\r\n", &out);
  EXPECT_NE(out.find("21 61\r\nyo\r\ngot yo\r\n"), std::string::npos) << out;
  int w = 0;
  ASSERT_EQ(::waitpid(pid, &w, 0), pid);
  EXPECT_EQ(DecodeWait(w), 7) << out;
  EXPECT_EQ(Podshim({"delete", "--force", "e2"}).status, 0);
}

}  // namespace
}  // namespace podshim_test
