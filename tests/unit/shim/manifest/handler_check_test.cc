#include "shim/manifest/handler_check.h"

#include <gtest/gtest.h>

#include <string>

namespace podshim::shim {
namespace {

TEST(ProbeValidationTest, AcceptsHttpsRefusesGrpcNamesAndEmptyExec) {
  HttpGetAction https;
  https.port = 443;
  https.scheme = HttpScheme::kHttps;
  EXPECT_TRUE(ValidateProbeHandler(https, "spec.containers[0].readinessProbe"));

  auto g = ValidateProbeHandler(GrpcAction{.port = 9000, .service = ""}, "p");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), make_error_code(ErrorCode::kUnsupported));
  EXPECT_NE(g.error().context().find("p.grpc"), std::string::npos);

  TcpSocketAction named;
  named.port = 80;
  named.host = "db.example";
  auto n = ValidateProbeHandler(named, "p");
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_NE(n.error().context().find("p.tcpSocket.host"), std::string::npos);

  auto e = ValidateProbeHandler(ExecAction{}, "p");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().context(), "p.exec.command: must not be empty");

  TcpSocketAction ok;
  ok.port = 80;
  ok.host = "::1";
  EXPECT_TRUE(ValidateProbeHandler(ok, "p"));
  HttpGetAction local;
  local.port = 8080;
  local.host = "localhost";
  EXPECT_TRUE(ValidateProbeHandler(local, "p"));
}

TEST(ProbeValidationTest, HostLiteralsAsAsioTakesThem) {
  for (const char* host : {"", "localhost", "10.0.0.1", "::1", "fe80::1%eth0", "fe80::1%2"}) {
    EXPECT_TRUE(IsProbeHostLiteral(host)) << host;
  }
  for (const char* host : {"db", "10.0.0", "10.0.0.1%eth0", "::g", "%eth0", "localhost.", " ::1"}) {
    EXPECT_FALSE(IsProbeHostLiteral(host)) << host;
  }
}

TEST(ProbeValidationTest, LifecycleHandlersNameTheHookField) {
  auto e = ValidateLifecycleHandler(ExecAction{}, "c.lifecycle.postStart");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().context(), "c.lifecycle.postStart.exec.command: must not be empty");
  HttpGetAction far;
  far.port = 70000;
  auto h = ValidateLifecycleHandler(far, "c.lifecycle.preStop");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().context(), "c.lifecycle.preStop.httpGet.port: must be between 1 and 65535");
  EXPECT_TRUE(ValidateLifecycleHandler(SleepAction{}, "c.lifecycle.preStop"));
}

}  // namespace
}  // namespace podshim::shim
