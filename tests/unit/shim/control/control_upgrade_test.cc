// The `upgrade` and `version` requests and results of the control protocol, both ways.
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "shim/control/control_protocol.h"

namespace podshim::shim::control {
namespace {

TEST(ControlUpgradeTest, RequestsRoundTrip) {
  for (const Request& r :
       {Request(UpgradeRequest{"/usr/bin/podshim"}), Request(VersionRequest{})}) {
    ParsedRequest back = ParseRequest(FormatRequest(r));
    ASSERT_TRUE(back.request) << back.request.error().message;
    EXPECT_EQ(*back.request, r);
  }
  EXPECT_EQ(CommandName(UpgradeRequest{}), "upgrade");
  EXPECT_EQ(CommandName(VersionRequest{}), "version");
}

TEST(ControlUpgradeTest, UpgradeNeedsABinary) {
  ParsedRequest none = ParseRequest(R"({"command":"upgrade"})");
  ASSERT_FALSE(none.request);
  EXPECT_EQ(none.request.error().message, "upgrade: \"binary\" is required");
  ParsedRequest extra = ParseRequest(R"({"command":"upgrade","binary":"/x","force":true})");
  ASSERT_FALSE(extra.request);
  EXPECT_EQ(extra.request.error().code, ErrorCode::kBadRequest);
  ParsedRequest version = ParseRequest(R"({"command":"version","binary":"/x"})");
  EXPECT_FALSE(version.request);
}

TEST(ControlUpgradeTest, ResultsRoundTrip) {
  UpgradeResult up{"/usr/bin/podshim", "0.1.0", "0.2.0", 4120, 1};
  Reply<Response> line = ParseResponse(FormatUpgradeResponse(std::string("7"), up));
  ASSERT_TRUE(line && line->result);
  EXPECT_EQ(line->id, "7");
  EXPECT_EQ(ParseUpgradeResult(*line->result), up);
  VersionResult v{"0.2.0", "abc", 4120, 1};
  line = ParseResponse(FormatVersionResponse(std::nullopt, v));
  ASSERT_TRUE(line && line->result);
  EXPECT_EQ(ParseVersionResult(*line->result), v);
  EXPECT_FALSE(ParseVersionResult(R"({"version":"1"})"));
}

TEST(ControlUpgradeTest, CurrentVersionIsThisProcess) {
  VersionResult v = CurrentVersion();
  EXPECT_FALSE(v.version.empty());
  EXPECT_EQ(v.pid, ::getpid());
  EXPECT_EQ(v.handovers, 0);
}

}  // namespace
}  // namespace podshim::shim::control
