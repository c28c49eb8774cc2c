// SHA-256 of a byte string as 64 lowercase hex digits (FIPS 180-4). The containerd shim names its
// socket by the hash of (containerd address, namespace, group), as containerd's runc shim does,
// without linking a crypto library into the resident shim.
#pragma once

#include <string>
#include <string_view>

namespace podshim {

std::string Sha256Hex(std::string_view data);

}  // namespace podshim
