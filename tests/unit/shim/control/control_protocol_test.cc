#include "shim/control/control_protocol.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace podshim::shim::control {
namespace {

using nlohmann::json;

Request MustParse(std::string_view line) {
  ParsedRequest p = ParseRequest(line);
  EXPECT_TRUE(p.request.has_value()) << line << ": " << p.request.error().message;
  return p.request.value_or(Request{StatusRequest{}});
}

ControlError MustFail(std::string_view line) {
  ParsedRequest p = ParseRequest(line);
  EXPECT_FALSE(p.request.has_value()) << line;
  return p.request ? ControlError{} : p.request.error();
}

TEST(ControlProtocolTest, ParsesEveryCommand) {
  EXPECT_EQ(MustParse(R"({"command":"status"})"), Request{StatusRequest{}});
  EXPECT_EQ(MustParse(R"({"command":"stats"})"), Request{StatsRequest{}});
  EXPECT_EQ(MustParse(R"({"command":"events"})"), Request(EventsRequest{1, false}));
  EXPECT_EQ(MustParse(R"({"command":"events","fromSeq":7,"follow":true})"),
            Request(EventsRequest{7, true}));
  EXPECT_EQ(MustParse(R"({"command":"events","fromSeq":0})"), Request(EventsRequest{1, false}));
  EXPECT_EQ(MustParse(R"({"command":"stop"})"), Request(StopRequest{}));
  EXPECT_EQ(MustParse(R"({"command":"stop","graceSeconds":3})"), Request(StopRequest{3}));
  EXPECT_EQ(MustParse(R"({"command":"kill","container":"web"})"),
            Request(KillRequest{"web", SIGTERM}));
  EXPECT_EQ(MustParse(R"({"command":"kill","container":"web","signal":"KILL"})"),
            Request(KillRequest{"web", SIGKILL}));
  EXPECT_EQ(MustParse(R"({"command":"kill","container":"web","signal":"SIGHUP"})"),
            Request(KillRequest{"web", SIGHUP}));
  EXPECT_EQ(MustParse(R"({"command":"kill","container":"web","signal":10})"),
            Request(KillRequest{"web", 10}));
  EXPECT_EQ(MustParse(R"({"command":"restart","container":"db"})"), Request(RestartRequest{"db"}));
  EXPECT_EQ(MustParse(R"({"command":"exec","container":"db","argv":["/bin/echo","hi"]})"),
            Request(ExecRequest{"db", {"/bin/echo", "hi"}, std::nullopt}));
  EXPECT_EQ(MustParse(R"({"command":"exec","container":"db","argv":["ls"],"timeoutSeconds":5})"),
            Request(ExecRequest{"db", {"ls"}, 5}));
}

TEST(ControlProtocolTest, KeepsTheIdAsCompactJson) {
  EXPECT_EQ(ParseRequest(R"({"id": 42, "command":"status"})").id, "42");
  EXPECT_EQ(ParseRequest(R"({"id": "a b", "command":"status"})").id, "\"a b\"");
  EXPECT_EQ(ParseRequest(R"({"id": [1, 2], "command":"nope"})").id, "[1,2]");
  EXPECT_FALSE(ParseRequest(R"({"command":"status"})").id.has_value());
}

TEST(ControlProtocolTest, FormatRequestRoundTrips) {
  for (const Request& r :
       std::vector<Request>{StatusRequest{}, StatsRequest{}, EventsRequest{3, true}, StopRequest{},
                            StopRequest{0}, KillRequest{"a", SIGUSR1}, RestartRequest{"b"},
                            ExecRequest{"c", {"sh", "-c", "echo \"x\"\n"}, 9}}) {
    std::string line = FormatRequest(r);
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_EQ(MustParse(line), r) << line;
  }
}

TEST(ControlProtocolTest, BadJsonAndShapes) {
  EXPECT_EQ(MustFail("{"), (ControlError{ErrorCode::kBadRequest, "request is not valid JSON"}));
  EXPECT_EQ(MustFail("garbage \x01\xff"),
            (ControlError{ErrorCode::kBadRequest, "request is not valid JSON"}));
  EXPECT_EQ(MustFail("[1,2]"),
            (ControlError{ErrorCode::kBadRequest, "request must be a JSON object"}));
  EXPECT_EQ(MustFail("{}"), (ControlError{ErrorCode::kBadRequest, "\"command\" is required"}));
  EXPECT_EQ(MustFail(R"({"command":7})"),
            (ControlError{ErrorCode::kBadRequest, "\"command\" must be a string"}));
}

TEST(ControlProtocolTest, UnknownCommand) {
  EXPECT_EQ(MustFail(R"({"command":"reboot"})"),
            (ControlError{ErrorCode::kUnknownCommand, "unknown command \"reboot\""}));
}

// What a client sent is escaped in the message: `podshim ctl` prints it as one line.
TEST(ControlProtocolTest, NamesFromTheRequestAreEscapedInErrors) {
  EXPECT_EQ(MustFail(R"({"command":"re\nboot"})"),
            (ControlError{ErrorCode::kUnknownCommand, "unknown command \"re\\nboot\""}));
  EXPECT_EQ(MustFail(R"({"command":"status","ver\tbose":true})"),
            (ControlError{ErrorCode::kBadRequest, "status: unknown field \"ver\\tbose\""}));
}

TEST(ControlProtocolTest, FieldErrorsNameTheField) {
  struct Case {
    const char* line;
    const char* message;
  } cases[] = {
      {R"({"command":"status","verbose":true})", "status: unknown field \"verbose\""},
      {R"({"command":"events","fromSeq":"1"})", "events: \"fromSeq\" must be an integer"},
      {R"({"command":"events","fromSeq":-1})",
       "events: \"fromSeq\" must be between 0 and 9223372036854775807"},
      {R"({"command":"events","fromSeq":18446744073709551615})",
       "events: \"fromSeq\" is out of range"},
      {R"({"command":"events","follow":1})", "events: \"follow\" must be a boolean"},
      {R"({"command":"stop","graceSeconds":-5})",
       "stop: \"graceSeconds\" must be between 0 and 1099511627776"},
      {R"({"command":"stop","graceSeconds":1.5})", "stop: \"graceSeconds\" must be an integer"},
      {R"({"command":"kill"})", "kill: \"container\" is required"},
      {R"({"command":"kill","container":""})", "kill: \"container\" must be a non-empty string"},
      {R"({"command":"kill","container":"a","signal":true})",
       "kill: \"signal\" must be a signal name or number"},
      {R"({"command":"restart","container":3})",
       "restart: \"container\" must be a non-empty string"},
      {R"({"command":"exec","container":"a"})", "exec: \"argv\" is required"},
      {R"({"command":"exec","container":"a","argv":[]})",
       "exec: \"argv\" must be a non-empty array of strings"},
      {R"({"command":"exec","container":"a","argv":"ls"})",
       "exec: \"argv\" must be a non-empty array of strings"},
      {R"({"command":"exec","container":"a","argv":["ls",1]})",
       "exec: \"argv\"[1] must be a string"},
      {R"({"command":"exec","container":"a","argv":[""]})", "exec: \"argv\"[0] must not be empty"},
      {R"({"command":"exec","container":"a","argv":["ls"],"timeoutSeconds":0})",
       "exec: \"timeoutSeconds\" must be between 1 and 86400"},
  };
  for (const Case& c : cases) {
    ControlError e = MustFail(c.line);
    EXPECT_EQ(e.code, ErrorCode::kBadRequest) << c.line;
    EXPECT_EQ(e.message, c.message) << c.line;
  }
}

TEST(ControlProtocolTest, UnknownSignalIsABadRequestNamingIt) {
  ControlError e = MustFail(R"({"command":"kill","container":"a","signal":"SIGFOO"})");
  EXPECT_EQ(e.code, ErrorCode::kBadRequest);
  EXPECT_NE(e.message.find("kill: \"signal\""), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("SIGFOO"), std::string::npos) << e.message;
  EXPECT_EQ(MustFail(R"({"command":"kill","container":"a","signal":0})").code,
            ErrorCode::kBadRequest);
}

TEST(ControlProtocolTest, TooLarge) {
  std::string line = R"({"command":"status","pad":")" + std::string(kMaxRequestBytes, 'x') + "\"}";
  ControlError e = MustFail(line);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_NE(e.message.find("1048576"), std::string::npos) << e.message;
}

// Nesting `depth` arrays deep: "[[[...]]]".
std::string Nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ControlProtocolTest, DeeplyNestedIdIsRefusedWithoutACrash) {
  // 100,000 levels overflowed the stack when the id was echoed (nlohmann's recursive dump);
  // 500,000 is about what fits in one request line.
  for (std::size_t depth : {std::size_t{100'000}, std::size_t{500'000}}) {
    std::string line = R"({"id":)" + Nested(depth) + R"(,"command":"status"})";
    ASSERT_LE(line.size(), kMaxRequestBytes);
    ParsedRequest p = ParseRequest(line);
    ASSERT_FALSE(p.request.has_value()) << depth;
    EXPECT_EQ(p.request.error().code, ErrorCode::kBadRequest);
    EXPECT_EQ(p.request.error().message,
              "request nests deeper than " + std::to_string(kMaxRequestDepth) + " levels");
    EXPECT_FALSE(p.id.has_value());  // never echoed
    // The error line that answers it is small and valid JSON.
    std::string reply = FormatError(p.id, p.request.error());
    EXPECT_LT(reply.size(), 200u) << reply;
    EXPECT_FALSE(json::parse(reply, nullptr, false).is_discarded()) << reply;
  }
}

TEST(ControlProtocolTest, DeeplyNestedValuesAnywhereAreRefused) {
  const std::string deep_object = [] {
    std::string s;
    for (int i = 0; i < 100'000; ++i) s += R"({"a":)";
    s += "1";
    s += std::string(100'000, '}');
    return s;
  }();
  for (const std::string& line : {
           R"({"command":"status","x":)" + Nested(100'000) + "}",
           R"({"command":"exec","container":"a","argv":)" + Nested(100'000) + "}",
           R"({"command":"status","x":)" + deep_object + "}", Nested(100'000),
           std::string(100'000, '['),  // unterminated: refused for depth before "not JSON"
       }) {
    ControlError e = MustFail(line);
    EXPECT_EQ(e.code, ErrorCode::kBadRequest) << line.substr(0, 40);
    EXPECT_NE(e.message.find(std::to_string(kMaxRequestDepth)), std::string::npos) << e.message;
  }
}

TEST(ControlProtocolTest, NestingUpToTheLimitIsAcceptedAndEchoed) {
  // The request object is level 1, so an id may nest kMaxRequestDepth - 1 levels.
  std::string id = Nested(kMaxRequestDepth - 1);
  ParsedRequest ok = ParseRequest(R"({"id":)" + id + R"(,"command":"status"})");
  EXPECT_TRUE(ok.request.has_value());
  EXPECT_EQ(ok.id, id);
  EXPECT_EQ(FormatError(ok.id, {ErrorCode::kInternal, "m"}),
            R"({"id":)" + id + R"(,"ok":false,"error":{"code":"internal","message":"m"}})");
  ParsedRequest deep =
      ParseRequest(R"({"id":)" + Nested(kMaxRequestDepth) + R"(,"command":"status"})");
  ASSERT_FALSE(deep.request.has_value());
  EXPECT_EQ(deep.request.error().code, ErrorCode::kBadRequest);
  // Brackets inside strings are text, not nesting (escaped quotes included).
  std::string in_string = R"({"id":"\")" + std::string(100'000, '[') + R"(","command":"status"})";
  ParsedRequest s = ParseRequest(in_string);
  EXPECT_TRUE(s.request.has_value()) << s.request.error().message;
  ASSERT_TRUE(s.id.has_value());
  EXPECT_EQ(s.id->size(), 100'000u + 4);
}

TEST(ControlProtocolTest, DeepResponsesAreRefusedWithoutACrash) {
  for (const std::string& line : {
           R"({"id":)" + Nested(100'000) + R"(,"ok":true,"result":{}})",
           R"({"ok":true,"result":)" + Nested(100'000) + "}",
           R"({"ok":false,"error":)" + Nested(100'000) + "}",
       }) {
    Reply<Response> r = ParseResponse(line);
    ASSERT_FALSE(r.has_value()) << line.substr(0, 40);
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    EXPECT_NE(r.error().message.find(std::to_string(kMaxRequestDepth)), std::string::npos)
        << r.error().message;
  }
  EXPECT_FALSE(ParseStatsResult(Nested(100'000)).has_value());
  EXPECT_FALSE(ParseEventsStreamItem(R"({"seq":1,"event":)" + Nested(100'000) + "}").has_value());
  // A status.json that is not a sane object becomes an internal error line, not a crash.
  std::string status = FormatStatusResponse(std::nullopt, R"({"a":)" + Nested(100'000) + "}");
  EXPECT_NE(status.find("\"internal\""), std::string::npos) << status.substr(0, 200);
}

TEST(ControlProtocolTest, LineCapIsNamedInTheError) {
  std::string line(kMaxRequestBytes + 1, '[');
  ControlError e = MustFail(line);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_EQ(e.message, "request is 1048577 bytes; the limit is 1048576");
  // At the cap exactly, the line is parsed (and refused for what it is).
  std::string at_cap = R"({"command":"status","pad":")";
  at_cap += std::string(kMaxRequestBytes - at_cap.size() - 2, 'x') + "\"}";
  ASSERT_EQ(at_cap.size(), kMaxRequestBytes);
  EXPECT_EQ(MustFail(at_cap).message, "status: unknown field \"pad\"");
}

TEST(ControlProtocolTest, NoInputMakesParseRequestThrow) {
  // Odd bytes, bad UTF-8 inside strings and ids, huge numbers: always a ParsedRequest.
  for (std::string_view line : {
           std::string_view("{\"id\":\"\xff\xfe\",\"command\":\"status\"}"),
           std::string_view("{\"id\":1e999999,\"command\":\"status\"}"),
           std::string_view("{\"id\":-0.0,\"command\":\"status\"}"),
           std::string_view("{\"command\":\"kill\",\"container\":\"a\",\"signal\":1e300}"),
           std::string_view("{\"command\":\"kill\",\"container\":\"a\",\"signal\":-99999999999}"),
           std::string_view("{\"\xc3\":1}"),
           std::string_view("\"\\ud800\""),
           std::string_view("{\"command\":\"status\"}\0{", 21),
       }) {
    ParsedRequest p = ParseRequest(line);
    if (p.request) continue;
    EXPECT_FALSE(p.request.error().message.empty());
    EXPECT_FALSE(json::parse(FormatError(p.id, p.request.error()), nullptr, false).is_discarded());
  }
}

TEST(ControlProtocolTest, ErrorCodeNamesRoundTrip) {
  for (ErrorCode c :
       {ErrorCode::kBadRequest, ErrorCode::kUnknownCommand, ErrorCode::kUnknownContainer,
        ErrorCode::kTooLarge, ErrorCode::kPermissionDenied, ErrorCode::kUnavailable,
        ErrorCode::kInternal}) {
    EXPECT_EQ(ParseErrorCode(ErrorCodeName(c)), c);
  }
  EXPECT_EQ(ErrorCodeName(ErrorCode::kUnknownContainer), "unknown_container");
  EXPECT_FALSE(ParseErrorCode("nope").has_value());
}

TEST(ControlProtocolTest, ErrorResponse) {
  std::string line = FormatError("7", {ErrorCode::kUnknownContainer, "no container \"x\""});
  EXPECT_EQ(
      line,
      R"({"id":7,"ok":false,"error":{"code":"unknown_container","message":"no container \"x\""}})");
  Reply<Response> r = ParseResponse(line);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->id, "7");
  ASSERT_FALSE(r->result.has_value());
  EXPECT_EQ(r->result.error(), (ControlError{ErrorCode::kUnknownContainer, "no container \"x\""}));
}

TEST(ControlProtocolTest, StatusResponseIsCompacted) {
  std::string line = FormatStatusResponse(std::nullopt, "{\n  \"phase\": \"Running\"\n}\n");
  EXPECT_EQ(line, R"({"ok":true,"result":{"phase":"Running"}})");
  std::string bad = FormatStatusResponse(std::nullopt, "not json");
  Reply<Response> r = ParseResponse(bad);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->result.has_value());
  EXPECT_EQ(r->result.error().code, ErrorCode::kInternal);
}

TEST(ControlProtocolTest, ResultsRoundTrip) {
  auto result_of = [](const std::string& line) {
    EXPECT_EQ(line.find('\n'), std::string::npos);
    Reply<Response> r = ParseResponse(line);
    EXPECT_TRUE(r.has_value() && r->result.has_value()) << line;
    return r && r->result ? *r->result : std::string();
  };
  StopResult stop{7, true};
  EXPECT_EQ(ParseStopResult(result_of(FormatStopResponse(std::nullopt, stop))), stop);
  KillResult kill{"web", SIGKILL};
  std::string kill_line = FormatKillResponse(std::nullopt, kill);
  EXPECT_NE(kill_line.find("\"SIGKILL\""), std::string::npos);
  EXPECT_EQ(ParseKillResult(result_of(kill_line)), kill);
  ExecResult exec{3, "out\nline\n", "err", false};
  EXPECT_EQ(ParseExecResult(result_of(FormatExecResponse("1", exec))), exec);
  StatsResult stats;
  stats.pod = {100, 2048, 3, 0};
  stats.containers.push_back({"web", "app", {50, 1024, 2, std::nullopt}, 4});
  stats.containers.push_back({"proxy", "sidecar", {}, 0});
  std::string stats_line = FormatStatsResponse(std::nullopt, stats);
  EXPECT_NE(stats_line.find("\"oomKills\":null"), std::string::npos) << stats_line;
  EXPECT_EQ(ParseStatsResult(result_of(stats_line)), stats);
  EXPECT_EQ(result_of(FormatRestartResponse(std::nullopt, {"db"})), R"({"container":"db"})");
}

TEST(ControlProtocolTest, ExecOutputThatIsNotUtf8IsStillValidJson) {
  ExecResult exec{0,
                  std::string("a\xff"
                              "b"),
                  "", false};
  std::string line = FormatExecResponse(std::nullopt, exec);
  Reply<Response> r = ParseResponse(line);
  ASSERT_TRUE(r.has_value() && r->result.has_value()) << line;
  Reply<ExecResult> back = ParseExecResult(*r->result);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->stdout_text,
            "a\xEF\xBF\xBD"
            "b");  // U+FFFD
}

TEST(ControlProtocolTest, EventLines) {
  EventRecord e{5, R"({"time":"t","pod":"p","type":"PodStarted"})"};
  std::string line = FormatEventResponse("\"x\"", e);
  EXPECT_EQ(
      line,
      R"({"id":"x","ok":true,"result":{"seq":5,"event":{"time":"t","pod":"p","type":"PodStarted"}}})");
  Reply<Response> r = ParseResponse(line);
  ASSERT_TRUE(r.has_value() && r->result.has_value());
  Reply<EventsStreamItem> item = ParseEventsStreamItem(*r->result);
  ASSERT_TRUE(item.has_value());
  ASSERT_TRUE(item->event.has_value());
  EXPECT_EQ(item->event->seq, 5u);
  EXPECT_EQ(json::parse(item->event->json), json::parse(e.json));

  Reply<Response> end = ParseResponse(FormatEventsEnd(std::nullopt, 9, true));
  ASSERT_TRUE(end.has_value() && end->result.has_value());
  Reply<EventsStreamItem> end_item = ParseEventsStreamItem(*end->result);
  ASSERT_TRUE(end_item.has_value());
  EXPECT_FALSE(end_item->event.has_value());
  EXPECT_EQ(end_item->next_seq, 9u);
  EXPECT_TRUE(end_item->pod_finished);
}

TEST(ControlProtocolTest, MalformedResponses) {
  for (const char* line : {"", "[]", R"({"result":{}})", R"({"ok":"yes"})", R"({"ok":true})",
                           R"({"ok":false})", R"({"ok":false,"error":{"code":"x"}})"}) {
    Reply<Response> r = ParseResponse(line);
    ASSERT_FALSE(r.has_value()) << line;
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    EXPECT_EQ(r.error().message.rfind("malformed response: ", 0), 0u) << r.error().message;
  }
  // An error code this client does not know stays visible in the message.
  Reply<Response> r = ParseResponse(R"({"ok":false,"error":{"code":"new_code","message":"m"}})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->result.error(), (ControlError{ErrorCode::kInternal, "new_code: m"}));
  // Typed parsers report a wrong shape instead of throwing.
  EXPECT_EQ(ParseExecResult(R"({"exitCode":"0"})").error().code, ErrorCode::kInternal);
  EXPECT_EQ(ParseStatsResult("[]").error().code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace podshim::shim::control

namespace podshim::shim::control {
namespace {

// A response's integers are checked before they are converted: a float or an integer that does
// not fit was cast by nlohmann's get<int>() (undefined behaviour; the control_protocol fuzz target
// found exitCode 57e8), and is now a kInternal error naming the field.
TEST(ControlProtocolTest, ResultIntegersThatDoNotFitAreErrorsNotCasts) {
  const std::string tail = R"(,"stdout":"","stderr":"","timedOut":false})";
  for (const char* code : {"57e8", "5700000000", "1.5", "\"3\"", "-2147483649"}) {
    Reply<ExecResult> r = ParseExecResult(std::string(R"({"exitCode":)") + code + tail);
    ASSERT_FALSE(r.has_value()) << code;
    EXPECT_EQ(r.error().code, ErrorCode::kInternal) << code;
    EXPECT_NE(r.error().message.find("exitCode"), std::string::npos) << r.error().message;
  }
  Reply<ExecResult> negative = ParseExecResult(R"({"exitCode":-1)" + tail);
  ASSERT_TRUE(negative.has_value());
  EXPECT_EQ(negative->exit_code, -1);
  EXPECT_FALSE(ParseEventsStreamItem(R"({"seq":-1,"event":{}})").has_value());
  EXPECT_FALSE(ParseEventsStreamItem(R"({"seq":1e300,"event":{}})").has_value());
  EXPECT_FALSE(ParseStopResult(R"({"gracePeriodSeconds":1e300,"alreadyTerminating":false})")
                   .has_value());
  EXPECT_FALSE(ParseStatsResult(R"({"pod":{"cpuUsageUsec":-5},"containers":[]})").has_value());
}

}  // namespace
}  // namespace podshim::shim::control
