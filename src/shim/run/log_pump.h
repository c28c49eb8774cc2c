// LogPump: moves one container output pipe (stdout or stderr) into its CRI log file from the
// Asio loop. The pipe's read end is non-blocking and read only when epoll says it is readable,
// so the shim never stalls and a container never waits on the shim beyond the pipe buffer.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/unique_fd.h"
#include "shim/record/container_logs.h"

namespace podshim::shim {

class LogPump {
 public:
  // Takes the read end of the pipe; `file` is shared by the stdout and stderr pumps of one
  // container instance (and closed with the last of them).
  LogPump(boost::asio::io_context& io, UniqueFd pipe, LogStream stream,
          std::shared_ptr<CriLogFile> file, const Clock& clock);
  LogPump(const LogPump&) = delete;
  LogPump& operator=(const LogPump&) = delete;

  // Starts reading asynchronously until EOF.
  void Start();
  // Reads what is in the pipe now without waiting, writes it and closes (at shutdown, once
  // every writer is gone).
  void Drain();
  // Reads what is in the pipe now without waiting and writes the complete lines; the pipe stays
  // open (an upgrade hands it over next, with pending()).
  void ReadAvailable();
  // The read end of the pipe (-1 once done) and the bytes of an unfinished line.
  int fd() { return done_ ? -1 : pipe_.native_handle(); }
  LogStream stream() const { return stream_; }
  const std::string& pending() const { return splitter_.buffered(); }
  // Starts with `bytes`, the unfinished line the pump this one continues held (an upgrade).
  void Carry(std::string_view bytes) { (void)splitter_.Feed(bytes); }
  // The container instance whose output this is (its restart count), as the caller set it.
  int instance() const { return instance_; }
  void set_instance(int restart_count) { instance_ = restart_count; }
  // True once the pipe reached EOF (or failed) and was closed; the pump then no longer holds
  // the pipe or its share of the log file.
  bool done() const { return done_; }

 private:
  void Arm();
  void OnReadable();
  // Reads once; false at EOF or on an error other than EAGAIN.
  bool ReadSome();
  void Close();

  boost::asio::posix::stream_descriptor pipe_;
  LogStream stream_;
  std::shared_ptr<CriLogFile> file_;
  const Clock* clock_;
  CriLineSplitter splitter_;
  bool done_ = false;
  int instance_ = 0;
};

}  // namespace podshim::shim
