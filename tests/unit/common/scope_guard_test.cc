#include "common/scope_guard.h"

#include <gtest/gtest.h>

#include <string>

namespace podshim {
namespace {

std::string Steps(bool fail_late, bool keep_first) {
  std::string log;
  {
    ScopeGuard first([&] { log += "undo1 "; });
    log += "do1 ";
    ScopeGuard second([&] { log += "undo2 "; });
    log += "do2 ";
    if (keep_first) first.Dismiss();
    if (!fail_late) second.Dismiss();
  }
  return log;
}

TEST(ScopeGuardTest, UndoesInReverseOrderUnlessDismissed) {
  EXPECT_EQ(Steps(/*fail_late=*/true, /*keep_first=*/false), "do1 do2 undo2 undo1 ");
  EXPECT_EQ(Steps(/*fail_late=*/false, /*keep_first=*/false), "do1 do2 undo1 ");
  EXPECT_EQ(Steps(/*fail_late=*/false, /*keep_first=*/true), "do1 do2 ");
}

}  // namespace
}  // namespace podshim
