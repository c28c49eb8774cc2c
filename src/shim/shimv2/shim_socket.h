// Where a pod's shim listens: the group a task belongs to (CONTAINERD.md §6: the annotation
// io.containerd.runc.v2.group, else io.kubernetes.cri.sandbox-id, else the task id), the socket
// path hashed from (containerd's address, namespace, group), and the `address` file containerd
// reads back after it restarts.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim::shimv2 {

// The group of task `id` from <bundle>/config.json's annotations. A config.json that cannot be
// read or parsed groups by `id` (Create then reports what is wrong with it).
std::string TaskGroup(const std::filesystem::path& bundle, const std::string& id);

// /run/containerd/s/<sha256 of "podshim/<address>/<ns>/<group>">: 82 bytes, within sun_path.
std::filesystem::path ShimSocketPath(const std::string& address, const std::string& ns,
                                     const std::string& group);

// True when a server accepts connections on `path`.
bool IsServing(const std::filesystem::path& path);

// A listening socket bound at `path` (mode 0600; its directory is created 0711). A stale socket
// file (nobody accepting) is replaced. kConflict when a live server holds it.
Result<UniqueFd> ListenAt(const std::filesystem::path& path);

// Writes "unix://<path>" to <bundle>/address (atomically).
Status WriteAddressFile(const std::filesystem::path& bundle, const std::filesystem::path& socket);

// After a shim crash: removes the socket <bundle>/address names when it lies in the shims' socket
// dir and no server accepts on it any more. A live shim's socket is never touched.
void RemoveSocketIfStale(const std::filesystem::path& bundle);

}  // namespace podshim::shim::shimv2
