// Lets a long-running process give back the pages it touched once: the file-backed pages of its
// code and read-only data (mapped again from the page cache on their next use) and the free
// memory malloc holds. A resident shim calls it after one-time work, such as a container launch,
// so that its RSS is what its steady state touches (docs/decisions.md, "A lean resident shim").
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace podshim {

struct PageRange {
  uintptr_t start = 0;
  uintptr_t end = 0;  // exclusive
};

// The mappings of a /proc/<pid>/smaps text that can be dropped without losing anything: private,
// not writable, backed by a file (the path starts with '/'), with resident pages and no
// anonymous (copied-on-write) page. A relocated RELRO segment has anonymous pages and is kept.
std::vector<PageRange> TrimmableRanges(std::string_view smaps);

// Drops those mappings' pages from this process (madvise MADV_DONTNEED on each range of
// /proc/self/smaps) and returns malloc's free memory (malloc_trim). Returns the number of ranges
// dropped; any failure only leaves pages mapped.
int TrimResidentPages();

}  // namespace podshim
