// ScopeGuard: an undo step written beside the acquisition it undoes, run when the scope ends
// unless dismissed (the role of crun's `cleanup_*` attributes and nsjail's `defer`). Guards run in
// reverse order of their creation, so set-up steps are undone newest first on every early return.
#pragma once

#include <utility>

namespace podshim {

template <typename Undo>
class [[nodiscard]] ScopeGuard {
 public:
  explicit ScopeGuard(Undo undo) : undo_(std::move(undo)) {}
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() {
    if (armed_) undo_();
  }

  // The step is kept: the undo does not run.
  void Dismiss() { armed_ = false; }

 private:
  Undo undo_;
  bool armed_ = true;
};

}  // namespace podshim
