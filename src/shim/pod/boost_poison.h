// Forced into every source of the pure core (shim/pod/ and shim/manifest/) by src/CMakeLists.txt:
// any use of the `boost` namespace, such as including an Asio header, is then a compile error, so
// "the pod core does no I/O through the event loop" is checked by the build. Include nothing here.
#pragma once
#pragma GCC poison boost
