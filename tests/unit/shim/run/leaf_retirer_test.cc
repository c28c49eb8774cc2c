// LeafRetirer: an empty leaf is removed at once; a busy one is emptied through cgroup.kill and
// its removal retried on the io_context until it is gone.
#include "shim/run/leaf_retirer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "fixtures/fakes/fake_cgroup_manager.h"

namespace podshim::shim {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

cgroups::CgroupPath Leaf(const std::string& name) {
  return *cgroups::CgroupPath::Parse("pod-test/" + name);
}

TEST(LeafRetirerTest, AnEmptyLeafIsRemovedAtOnce) {
  boost::asio::io_context io;
  FakeCgroupManager cgroups;
  ASSERT_TRUE(cgroups.CreateContainer("web-0"));
  LeafRetirer retirer(io, cgroups);
  retirer.Retire("web", Leaf("web-0"));
  EXPECT_THAT(cgroups.calls(), ElementsAre("CreateContainer web-0", "TryRemove pod-test/web-0"));
  EXPECT_THAT(cgroups.live(), IsEmpty());
  EXPECT_EQ(io.poll(), 0u);  // no retry armed
}

TEST(LeafRetirerTest, ABusyLeafIsKilledAndRemovedOnceItEmptied) {
  boost::asio::io_context io;
  FakeCgroupManager cgroups;
  ASSERT_TRUE(cgroups.CreateContainer("web-0"));
  ASSERT_TRUE(cgroups.CreateContainer("web-1"));
  cgroups.SetBusy("pod-test/web-0", true);
  cgroups.SetBusy("pod-test/web-1", true);
  LeafRetirer retirer(io, cgroups);
  retirer.Retire("web", Leaf("web-0"));
  retirer.Retire("web", Leaf("web-1"));
  EXPECT_THAT(cgroups.CallsOf("Kill"), ElementsAre("Kill pod-test/web-0", "Kill pod-test/web-1"));
  // The kernel lets web-0 go first; the retries run until both are gone, then stop.
  cgroups.SetBusy("pod-test/web-0", false);
  io.run_one();
  EXPECT_EQ(cgroups.live().count("pod-test/web-0"), 0u);
  EXPECT_EQ(cgroups.live().count("pod-test/web-1"), 1u);
  cgroups.SetBusy("pod-test/web-1", false);
  io.run();
  EXPECT_THAT(cgroups.live(), IsEmpty());
  EXPECT_THAT(cgroups.CallsOf("TryRemove"),
              ElementsAre("TryRemove pod-test/web-0", "TryRemove pod-test/web-1",
                          "TryRemove pod-test/web-0", "TryRemove pod-test/web-1",
                          "TryRemove pod-test/web-1"));
}

}  // namespace
}  // namespace podshim::shim
