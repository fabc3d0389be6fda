// HttpParser: input bytes (with the points where the stream is cut into feeds, gaps and
// the end of the stream) and the exact trace of MessageHandler events they must give,
// in the shape of nodejs/llhttp's test/request/*.md.
#include "http/parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/recording_messages.hpp"

namespace offpath {
namespace {

using testing::bytes_of;
using testing::RecordingMessages;
using Events = std::vector<std::string>;

constexpr Timestamp kTs{1000};

// Response body modes the pairer would give: 101 upgrades, everything else has a body.
BodyMode upgrade_on_101(const HttpMessage& m) {
  return m.status == 101 ? BodyMode::Upgrade : BodyMode::Normal;
}

struct Harness {
  explicit Harness(MessageKind kind, ParserLimits limits = {}) : parser(kind, handler, limits) {
    handler.body_mode = upgrade_on_101;
  }
  void feed(std::string_view data) {
    parser.feed(offset, bytes_of(data), kTs);
    offset += data.size();
  }
  void gap(std::uint64_t n) {
    parser.gap(n, kTs);
    offset += n;
  }
  RecordingMessages handler;
  HttpParser parser;
  std::uint64_t offset = 0;
};

// Feeds `input` cut at `cuts` (ascending offsets) and returns the trace.
Events run_split(MessageKind kind, std::string_view input, const std::vector<std::size_t>& cuts,
                 bool at_start = true, bool finish = false) {
  Harness h(kind);
  h.parser.start(at_start);
  std::size_t prev = 0;
  for (std::size_t c : cuts) {
    h.feed(input.substr(prev, c - prev));
    prev = c;
  }
  h.feed(input.substr(prev));
  if (finish) h.parser.finish(kTs);
  return h.handler.events;
}

// The trace must not depend on how the stream is cut into segments: every single cut,
// and one byte per feed, give the trace of the whole input fed at once.
void expect_split_invariant(MessageKind kind, std::string_view input, const Events& expected,
                            bool at_start = true, bool finish = false) {
  ASSERT_EQ(run_split(kind, input, {}, at_start, finish), expected) << "whole input";
  for (std::size_t i = 1; i < input.size(); ++i) {
    ASSERT_EQ(run_split(kind, input, {i}, at_start, finish), expected) << "cut at " << i;
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  ASSERT_EQ(run_split(kind, input, every, at_start, finish), expected) << "one byte per feed";
}

struct TraceCase {
  const char* description;
  MessageKind kind;
  std::string input;
  Events expected;
  bool at_start = true;
  bool finish = false;
};

std::vector<TraceCase> trace_cases() {
  using K = MessageKind;
  return {
      {"simple GET", K::Request, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
       {"begin request", "headers request GET /a?x=1", "complete request GET /a?x=1 1.1 @0 body=0 ''"}},
      {"keep-alive: two requests back to back", K::Request,
       "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
       {"begin request", "headers request GET /1", "complete request GET /1 1.1 @0 body=0 ''",
        "begin request", "headers request GET /2", "complete request GET /2 1.1 @28 body=0 ''"}},
      {"pipelining: GET, POST with Content-Length, chunked PUT", K::Request,
       "GET /a HTTP/1.1\r\n\r\n"
       "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
       "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
       {"begin request", "headers request GET /a", "complete request GET /a 1.1 @0 body=0 ''",
        "begin request", "headers request POST /b",
        "complete request POST /b 1.1 @19 body=5 'hello'", "begin request",
        "headers request PUT /c", "complete request PUT /c 1.1 @63 body=5 'abcde'"}},
      {"response with Content-Length", K::Response,
       "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
       {"begin response", "headers response 404", "complete response 404 Not Found 1.1 @0 body=9 'not found'"}},
      {"chunked response with extension and trailer", K::Response,
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
       {"begin response", "headers response 200", "complete response 200 OK 1.1 @0 body=11 'hello world'"}},
      {"close-delimited response completed by finish()", K::Response,
       "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil the end",
       {"begin response", "headers response 200", "complete response 200 OK 1.0 @0 body=13 'until the end'"},
       true, true},
      {"100 Continue then the final response", K::Response,
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
       {"begin response", "headers response 100", "complete response 100 Continue 1.1 @0 body=0 ''",
        "begin response", "headers response 201", "complete response 201 Created 1.1 @25 body=2 'ok'"}},
      {"204 and 304 have no body", K::Response,
       "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
       {"begin response", "headers response 204", "complete response 204 No Content 1.1 @0 body=0 ''",
        "begin response", "headers response 304", "complete response 304 Not Modified 1.1 @27 body=0 ''",
        "begin response", "headers response 200", "complete response 200 OK 1.1 @56 body=1 'x'"}},
      {"mid-stream: sync finds the request line after junk", K::Request,
       "ody bytes\r\nmore\nGET /x HTTP/1.1\r\n\r\n",
       {"begin request", "headers request GET /x", "complete request GET /x 1.1 @16 body=0 ''"}, false},
      {"mid-stream: sync finds the status line after junk", K::Response,
       "tail of a body\r\nHTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
       {"begin response", "headers response 503",
        "complete response 503 Service Unavailable 1.1 @16 body=0 ''"}, false},
  };
}

TEST(HttpParser, TracesIndependentOfSegmentation) {
  for (const TraceCase& c : trace_cases()) {
    SCOPED_TRACE(c.description);
    expect_split_invariant(c.kind, c.input, c.expected, c.at_start, c.finish);
  }
}

// Sync looks for a start only at line starts; a segment boundary inside a line is not
// one: a body line "xGET /no ..." cut after "x" must not be taken for a request (which
// then fails to parse and stops the whole direction).
TEST(HttpParser, SyncStartOnlyAtLineStartAcrossFeeds) {
  expect_split_invariant(
      MessageKind::Request, "xGET /no HTTP/1.1\r\nPOST /yes HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
      {"begin request", "headers request POST /yes", "complete request POST /yes 1.1 @19 body=0 ''"},
      false);
}

TEST(HttpParser, HeadersAndFlags) {
  Harness h(MessageKind::Request);
  h.parser.start(true);
  h.feed("POST /p HTTP/1.0\r\nHost:  example.com \r\nX-A: 1\r\nx-a: 2\r\nConnection: keep-alive\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  ASSERT_EQ(h.handler.complete.size(), 1u);
  const HttpMessage& m = h.handler.complete[0];
  EXPECT_EQ(m.method, "POST");
  EXPECT_EQ(m.version_major, 1);
  EXPECT_EQ(m.version_minor, 0);
  ASSERT_EQ(m.headers.size(), 5u);
  EXPECT_EQ(m.headers[0].name, "Host");
  EXPECT_EQ(m.headers[0].value, "example.com");
  EXPECT_EQ(*m.header("x-A"), "1");
  EXPECT_EQ(m.header("missing"), nullptr);
  EXPECT_TRUE(m.chunked);
  EXPECT_TRUE(m.keep_alive);
  EXPECT_TRUE(m.complete);
  EXPECT_FALSE(m.gap);
  EXPECT_EQ(h.parser.counters().messages, 1u);
}

TEST(HttpParser, BodyCaptureLimit) {
  ParserLimits limits;
  limits.max_body = 4;
  Harness h(MessageKind::Response, limits);
  h.parser.start(true);
  h.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
  ASSERT_EQ(h.handler.complete.size(), 1u);
  EXPECT_EQ(h.handler.complete[0].body, "0123");
  EXPECT_EQ(h.handler.complete[0].body_size, 10u);
  EXPECT_TRUE(h.handler.complete[0].body_truncated);
}

TEST(HttpParser, HeadResponseHasNoBody) {
  Harness h(MessageKind::Response);
  std::vector<BodyMode> modes = {BodyMode::NoBody, BodyMode::Normal};
  std::size_t next = 0;
  h.handler.body_mode = [&](const HttpMessage&) { return modes.at(next++); };
  h.parser.start(true);
  h.feed("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
         "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop");
  EXPECT_EQ(h.handler.events,
            (Events{"begin response", "headers response 200", "complete response 200 OK 1.1 @0 body=0 ''",
                    "begin response", "headers response 404",
                    "complete response 404 Not Found 1.1 @41 body=3 'nop'"}));
}

TEST(HttpParser, UpgradeResponseThenTunnel) {
  Harness h(MessageKind::Response);
  h.parser.start(true);
  h.feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
         "\x81\x05hello");
  EXPECT_EQ(h.handler.events,
            (Events{"begin response", "headers response 101",
                    "complete response 101 Switching Protocols 1.1 @0 body=0 ''"}));
  EXPECT_EQ(h.parser.state(), ParserState::Tunnel);
  EXPECT_EQ(h.parser.counters().tunnel_bytes, 7u);
  h.feed("HTTP/1.1 200 OK\r\n\r\n");  // not HTTP any more: counted, not parsed
  EXPECT_EQ(h.handler.events.size(), 3u);
  EXPECT_EQ(h.parser.counters().tunnel_bytes, 7u + 19u);
  h.gap(5);
  EXPECT_EQ(h.parser.counters().tunnel_bytes, 31u);
}

constexpr std::string_view kConnect =
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";

TEST(HttpParser, ConnectAcceptedBecomesTunnel) {
  Harness h(MessageKind::Request);
  h.parser.start(true);
  h.feed(std::string(kConnect) + "\x16\x03\x01");
  EXPECT_EQ(h.handler.events,
            (Events{"begin request", "headers request CONNECT example.com:443",
                    "complete request CONNECT example.com:443 1.1 @0 body=0 ''"}));
  EXPECT_EQ(h.parser.state(), ParserState::AwaitUpgrade);
  h.feed(std::string_view("\x00\x2f", 2));
  h.parser.resolve_upgrade(true, kTs);
  EXPECT_EQ(h.parser.state(), ParserState::Tunnel);
  EXPECT_EQ(h.parser.counters().tunnel_bytes, 5u);
  EXPECT_EQ(h.handler.events.size(), 3u);
}

TEST(HttpParser, ConnectRefusedParsesWhatWaited) {
  Harness h(MessageKind::Request);
  h.parser.start(true);
  h.feed(std::string(kConnect) + "GET /next HTTP/1.1\r\n");
  EXPECT_EQ(h.parser.state(), ParserState::AwaitUpgrade);
  EXPECT_EQ(h.handler.events.size(), 3u);
  h.parser.resolve_upgrade(false, kTs);
  EXPECT_EQ(h.parser.state(), ParserState::Parsing);
  h.feed("\r\n");
  ASSERT_EQ(h.handler.events.size(), 6u);
  EXPECT_EQ(h.handler.events[5], "complete request GET /next 1.1 @59 body=0 ''");
  EXPECT_EQ(h.parser.counters().tunnel_bytes, 0u);
}

TEST(HttpParser, UpgradeRefusedBeforeThePause) {
  // The response (and its refusal) can be parsed before the request's upgrade pause.
  Harness h(MessageKind::Request);
  h.parser.start(true);
  h.parser.resolve_upgrade(false, kTs);
  h.feed("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  EXPECT_EQ(h.parser.state(), ParserState::Parsing);
  ASSERT_EQ(h.handler.complete.size(), 2u);
  EXPECT_TRUE(h.handler.complete[0].upgrade);
  EXPECT_EQ(h.handler.complete[1].uri, "/b");
}

TEST(HttpParser, ParseErrorAbortsAndFails) {
  Harness h(MessageKind::Request);
  h.parser.start(true);
  h.feed("GET /ok HTTP/1.1\r\n\r\nGET /bad HTTP/1.1\r\nBad Header\r\n\r\n");  // 20 + 33 bytes
  EXPECT_EQ(h.parser.state(), ParserState::Failed);
  ASSERT_EQ(h.handler.events.size(), 5u);
  EXPECT_EQ(h.handler.events[3], "begin request");
  EXPECT_EQ(h.handler.events[4], "aborted request parse_error GET /bad 1.1 @20 body=0 ''");
  EXPECT_EQ(h.parser.counters().parse_errors, 1u);
  EXPECT_FALSE(h.handler.details[0].empty());
  EXPECT_EQ(h.handler.details[0].rfind("HPE_", 0), 0u) << h.handler.details[0];
  const std::uint64_t failed = h.parser.counters().failed_bytes;
  EXPECT_GT(failed, 0u);
  h.feed("GET /after HTTP/1.1\r\n\r\n");  // sticky: nothing more is parsed
  EXPECT_EQ(h.handler.events.size(), 5u);
  EXPECT_EQ(h.parser.counters().failed_bytes, failed + 23);
}

TEST(HttpParser, UnknownMethodIsSalvaged) {
  Harness h(MessageKind::Request);
  h.parser.start(true);
  h.feed("BREW /pot-1?milk=yes HTTP/1.1\r\nHost: coffee\r\n\r\n");
  ASSERT_EQ(h.handler.aborted.size(), 1u);
  EXPECT_EQ(h.handler.aborted[0].method, "BREW");
  EXPECT_EQ(h.handler.aborted[0].uri, "/pot-1?milk=yes");
  EXPECT_FALSE(h.handler.aborted[0].complete);
  EXPECT_EQ(h.parser.state(), ParserState::Failed);
  EXPECT_EQ(h.parser.counters().parse_errors, 1u);
}

TEST(HttpParser, ResponseParseError) {
  Harness h(MessageKind::Response);
  h.parser.start(true);
  h.feed("HTTP/1.1 2x0 OK\r\n\r\n");
  ASSERT_EQ(h.handler.aborted.size(), 1u);
  EXPECT_EQ(h.handler.events.back().rfind("aborted response parse_error", 0), 0u);
  EXPECT_EQ(h.parser.state(), ParserState::Failed);
}

TEST(HttpParser, GapInsideContentLengthBodyKeepsParsing) {
  Harness h(MessageKind::Request);
  h.parser.start(true);
  h.feed("POST /u HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  h.gap(4);
  h.feed("hijGET /n HTTP/1.1\r\n\r\n");
  EXPECT_EQ(h.handler.events,
            (Events{"begin request", "headers request POST /u",
                    "complete request POST /u 1.1 @0 body=10 'abchij' missing=4 gap", "begin request",
                    "headers request GET /n", "complete request GET /n 1.1 @50 body=0 ''"}));
  EXPECT_EQ(h.parser.counters().gap_filled_bytes, 4u);
  EXPECT_EQ(h.parser.state(), ParserState::Parsing);
}

TEST(HttpParser, GapInsideCloseDelimitedBody) {
  Harness h(MessageKind::Response);
  h.parser.start(true);
  h.feed("HTTP/1.0 200 OK\r\n\r\nab");
  h.gap(100);
  h.feed("yz");
  h.parser.finish(kTs);
  EXPECT_EQ(h.handler.events.back(), "complete response 200 OK 1.0 @0 body=104 'abyz' missing=100 gap");
}

TEST(HttpParser, GapLongerThanRemainingBodyAborts) {
  Harness h(MessageKind::Request);
  h.parser.start(true);
  h.feed("POST /u HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
  h.gap(50);  // the next request's start was lost too
  EXPECT_EQ(h.handler.events.back(), "aborted request gap POST /u 1.1 @0 body=2 'ab' gap");
  EXPECT_EQ(h.parser.state(), ParserState::Sync);
}

TEST(HttpParser, GapInsideHeadersAbortsThenResyncs) {
  Harness h(MessageKind::Request);
  h.parser.start(true);
  h.feed("GET /a HTTP/1.1\r\nHost: x");
  h.gap(10);
  EXPECT_EQ(h.parser.state(), ParserState::Sync);
  h.feed("rest\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  EXPECT_EQ(h.handler.events,
            (Events{"begin request", "aborted request gap GET /a 1.1 @0 body=0 '' gap", "begin request",
                    "headers request GET /b", "complete request GET /b 1.1 @42 body=0 ''"}));
  ASSERT_EQ(h.handler.aborted.size(), 1u);
  EXPECT_TRUE(h.handler.aborted[0].gap);
  EXPECT_EQ(h.parser.counters().resyncs, 1u);
  // The lost bytes are not counted as skipped; the 8 bytes before "GET /b" are.
  EXPECT_EQ(h.parser.counters().sync_skipped_bytes, 8u);
}

TEST(HttpParser, GapInsideChunkedBodyAborts) {
  Harness h(MessageKind::Response);
  h.parser.start(true);
  h.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
  h.gap(3);
  EXPECT_EQ(h.handler.events.back(), "aborted response gap 200 OK 1.1 @0 body=2 'ab' gap");
  EXPECT_EQ(h.parser.state(), ParserState::Sync);
}

TEST(HttpParser, SyncStartSplitAcrossFeeds) {
  {
    Harness h(MessageKind::Request);
    h.parser.start(false);
    h.feed("ta\r\nGE");
    EXPECT_TRUE(h.handler.events.empty());
    h.feed("T /x HTTP/1.1\r\n\r\n");
    EXPECT_EQ(h.handler.events.back(), "complete request GET /x 1.1 @4 body=0 ''");
    EXPECT_EQ(h.parser.counters().sync_skipped_bytes, 4u);
    EXPECT_EQ(h.parser.counters().resyncs, 1u);
  }
  {
    Harness h(MessageKind::Response);
    h.parser.start(false);
    h.feed("xx\r\nHTTP/1");
    h.feed(".1 204 No Content\r\n\r\n");
    EXPECT_EQ(h.handler.events.back(), "complete response 204 No Content 1.1 @4 body=0 ''");
    EXPECT_EQ(h.parser.counters().sync_skipped_bytes, 4u);
  }
}

TEST(HttpParser, SyncSkipsEverythingWithoutAStart) {
  Harness h(MessageKind::Response);
  h.parser.start(false);
  h.feed("no status line here\r\nnor here\r\n");
  h.gap(7);
  EXPECT_TRUE(h.handler.events.empty());
  EXPECT_EQ(h.parser.state(), ParserState::Sync);
  EXPECT_EQ(h.parser.counters().sync_skipped_bytes, 31u + 7u);
}

TEST(HttpParser, UriAndHeaderLimits) {
  ParserLimits limits;
  limits.max_uri_bytes = 8;
  limits.max_header_bytes = 20;
  Harness h(MessageKind::Request, limits);
  h.parser.start(true);
  h.feed("GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: abc\r\nX-Long: 0123456789abcdef\r\nZ: 1\r\n\r\n");
  ASSERT_EQ(h.handler.complete.size(), 1u);
  const HttpMessage& m = h.handler.complete[0];
  EXPECT_EQ(m.uri, "/aaaaaaa");
  EXPECT_TRUE(m.uri_truncated);
  EXPECT_TRUE(m.headers_truncated);
  ASSERT_GE(m.headers.size(), 1u);
  EXPECT_EQ(m.headers[0].name, "Host");
  EXPECT_EQ(m.headers[0].value, "abc");
  for (const auto& hd : m.headers) EXPECT_NE(hd.name, "X-Long");
  EXPECT_EQ(m.header_bytes, 4u + 3u + 6u + 16u + 1u + 1u);
}

TEST(HttpParser, FinishInsideMessageAborts) {
  Harness h(MessageKind::Response);
  h.parser.start(true);
  h.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  h.parser.finish(kTs);
  EXPECT_EQ(h.handler.events.back(), "aborted response end_of_stream 200 OK 1.1 @0 body=3 'abc'");
  EXPECT_EQ(h.parser.state(), ParserState::Failed);
}

TEST(HttpParser, FinishBetweenMessagesIsQuiet) {
  Harness h(MessageKind::Request);
  h.parser.start(true);
  h.feed("GET / HTTP/1.1\r\n\r\n");
  h.parser.finish(kTs);
  EXPECT_EQ(h.handler.events.size(), 3u);
  EXPECT_TRUE(h.handler.aborted.empty());
}

TEST(HttpParser, TimestampsOfMessage) {
  RecordingMessages rec;
  HttpParser p(MessageKind::Request, rec, ParserLimits{});
  p.start(true);
  std::string_view a = "POST / HTTP/1.1\r\nContent-Length: 2\r\n";
  std::string_view b = "\r\nx";
  std::string_view c = "y";
  p.feed(0, bytes_of(a), Timestamp{10});
  p.feed(a.size(), bytes_of(b), Timestamp{20});
  p.feed(a.size() + b.size(), bytes_of(c), Timestamp{30});
  ASSERT_EQ(rec.complete.size(), 1u);
  EXPECT_EQ(rec.complete[0].first_byte.micros, 10);
  EXPECT_EQ(rec.complete[0].headers_end.micros, 20);
  EXPECT_EQ(rec.complete[0].last_byte.micros, 30);
}

struct StartCase {
  const char* text;
  bool request;
  bool response;
};

TEST(HttpParser, MessageStartDetection) {
  const StartCase cases[] = {
      {"GET / HTTP/1.1", true, false},      {"M-SEARCH * HTTP/1.1", true, false},
      {"PROPFIND /d HTTP/1.1", true, false}, {"GET  / HTTP/1.1", false, false},
      {"GETX / HTTP/1.1", false, false},    {"get / HTTP/1.1", false, false},
      {"GET", false, false},                {"HTTP/1.1 200 OK", false, true},
      {"HTTP/1.0 404 X", false, true},      {"HTTP/2 200", false, false},
      {"HTTP/1.x 200", false, false},       {"", false, false},
  };
  for (const StartCase& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(looks_like_request_start(c.text), c.request);
    EXPECT_EQ(looks_like_response_start(c.text), c.response);
  }
}


// --- not HTTP (issue 17) ------------------------------------------------------------

constexpr std::string_view kClientHello{"\x16\x03\x01\x00\x9b\x01\x00\x00\x97\x03\x03", 11};

// Request and response parsers of one connection, each told of the other.
struct Pair {
  Pair() {
    req.parser.set_peer(&resp.parser);
    resp.parser.set_peer(&req.parser);
    req.parser.start(true);
    resp.parser.start(true);
  }
  Harness req{MessageKind::Request};
  Harness resp{MessageKind::Response};
};

TEST(HttpParser, FirstBytesNotHttpAreNotParsed) {
  const std::string smtp_greeting = "220 mail.example ESMTP\r\n";
  const std::string ssh = "SSH-2.0-OpenSSH_9.2p1\r\n";
  const struct {
    MessageKind kind;
    std::string bytes;
  } cases[] = {
      {MessageKind::Request, std::string(kClientHello)},
      {MessageKind::Request, "EHLO client.example\r\n"},  // a token, but no HTTP/1.x
      {MessageKind::Request, ssh},
      {MessageKind::Request, std::string("\0\0\0\x08\x04\xd2\x16\x2f", 8)},  // PostgreSQL
      {MessageKind::Response, smtp_greeting},
      {MessageKind::Response, ssh},
      {MessageKind::Response, "HTTP/2.0 200 OK\r\n\r\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.bytes);
    for (std::size_t cut = 1; cut < c.bytes.size(); ++cut) {
      Harness h(c.kind);
      h.parser.start(true);
      h.feed(std::string_view(c.bytes).substr(0, cut));
      h.feed(std::string_view(c.bytes).substr(cut));
      h.feed("GET / HTTP/1.1\r\n\r\n");  // later bytes are not looked at either
      h.parser.finish(kTs);
      EXPECT_EQ(h.parser.state(), ParserState::NotHttp);
      EXPECT_TRUE(h.handler.events.empty());
      EXPECT_FALSE(h.parser.began_http());
      EXPECT_EQ(h.parser.stream_bytes(), c.bytes.size() + 18);
      EXPECT_EQ(h.parser.counters().parse_errors, 0u);
    }
  }
}

TEST(HttpParser, FirstRequestLineWithUnknownMethodIsHttp) {
  // Read to its line end before deciding; llhttp then rejects the method.
  expect_split_invariant(MessageKind::Request, "BREW /pot HTTP/1.1\r\n\r\n",
                         {"begin request", "aborted request parse_error BREW /pot 1.1 @0 body=0 ''"});
}

TEST(HttpParser, NotHttpDirectionBecomesAParseErrorWhenThePeerIsHttp) {
  {
    Pair p;
    p.req.feed(kClientHello);
    EXPECT_EQ(p.req.parser.state(), ParserState::NotHttp);
    p.resp.feed("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(p.req.handler.aborted.size(), 1u);
    EXPECT_EQ(p.req.handler.aborted[0].method, "");  // binary bytes are not a method
    EXPECT_EQ(p.req.handler.details[0], "not HTTP: \"\\x16\\x03\\x01\\x00\\x9b\\x01\\x00\\x00\\x97\\x03\\x03\"");
    EXPECT_EQ(p.req.parser.state(), ParserState::Failed);
    EXPECT_EQ(p.req.parser.counters().parse_errors, 1u);
    EXPECT_EQ(p.req.parser.counters().failed_bytes, kClientHello.size());
    EXPECT_EQ(p.resp.handler.complete.size(), 1u);
  }
  {
    Pair p;  // a text line that is not a request line still says what was asked
    p.req.feed("CCM_POST /HTTP/1.1\r\nHost: x\r\n\r\n");
    p.resp.feed("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(p.req.handler.aborted.size(), 1u);
    EXPECT_EQ(p.req.handler.aborted[0].method, "CCM_POST");
    EXPECT_EQ(p.req.handler.aborted[0].uri, "/HTTP/1.1");
  }
}

TEST(HttpParser, BinaryAnswerToAnHttpRequestIsAParseError) {
  Pair p;
  p.req.feed("GET / HTTP/1.1\r\n\r\n");
  p.resp.feed(kClientHello);
  EXPECT_EQ(p.resp.parser.state(), ParserState::Failed);
  ASSERT_EQ(p.resp.handler.aborted.size(), 1u);
  EXPECT_EQ(p.resp.handler.details[0].rfind("HPE_INVALID_CONSTANT", 0), 0u)
      << p.resp.handler.details[0];
}

// --- parsing faults (issue 17) ------------------------------------------------------

TEST(HttpParser, TransferEncodingWinsOverContentLength) {
  const std::string input =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "c\r\nhello chunk!\r\n0\r\n\r\n"
      "HTTP/1.1 204 No Content\r\n\r\n";
  expect_split_invariant(MessageKind::Response, input,
                         {"begin response", "headers response 200",
                          "complete response 200 OK 1.1 @0 body=12 'hello chunk!'",
                          "begin response", "headers response 204",
                          "complete response 204 No Content 1.1 @88 body=0 ''"});
  Harness h(MessageKind::Response);
  h.parser.start(true);
  h.feed(input);
  ASSERT_EQ(h.handler.complete.size(), 2u);
  EXPECT_TRUE(h.handler.complete[0].ambiguous_length);
  EXPECT_FALSE(h.handler.complete[1].ambiguous_length);
}

TEST(HttpParser, MinorVersionsAboveOneAreReadAsOneOne) {
  expect_split_invariant(MessageKind::Response, "HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nok",
                         {"begin response", "headers response 200",
                          "complete response 200 OK 1.1 @0 body=2 'ok'"});
  expect_split_invariant(MessageKind::Request, "GET /v HTTP/1.9\r\n\r\n",
                         {"begin request", "headers request GET /v",
                          "complete request GET /v 1.1 @0 body=0 ''"});
}

TEST(HttpParser, StatusCodeNotThreeDigitsIsAParseError) {
  for (std::string_view line : {"HTTP/1.1 20 OK", "HTTP/1.1 000 Nothing", "HTTP/1.1 OK",
                                "HTTP/1.1 2000 OK"}) {
    SCOPED_TRACE(line);
    Harness h(MessageKind::Response);
    h.parser.start(true);
    h.feed(std::string(line) + "\r\nContent-Length: 0\r\n\r\n");
    EXPECT_TRUE(h.handler.complete.empty());
    ASSERT_EQ(h.handler.aborted.size(), 1u);
    EXPECT_EQ(h.handler.aborted[0].status, 0);
    EXPECT_NE(h.handler.details[0].find("\"" + std::string(line) + "\""), std::string::npos)
        << h.handler.details[0];
    EXPECT_EQ(h.parser.state(), ParserState::Failed);
  }
}

TEST(HttpParser, FailureAfterTheStartLineKeepsIt) {
  expect_split_invariant(
      MessageKind::Response, "HTTP/1.1 404 Not Found\r\nBad Header Line\r\n\r\n",
      {"begin response", "aborted response parse_error 404 Not Found 1.1 @0 body=0 ''"});
  expect_split_invariant(
      MessageKind::Request, "GET /kept HTTP/1.1\r\nBad Header Line\r\n\r\n",
      {"begin request", "aborted request parse_error GET /kept 1.1 @0 body=0 ''"});
}

// --- resynchronisation inside a line (issue 17) ------------------------------------

TEST(HttpParser, SyncFindsAStartLineAfterBinaryBytes) {
  const std::string binary("\x1f\x8b\x08\x00\xff\x01", 6);
  expect_split_invariant(
      MessageKind::Response, binary + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      {"begin response", "headers response 200", "complete response 200 OK 1.1 @6 body=2 'ok'"},
      false);
  expect_split_invariant(
      MessageKind::Request, binary + "POST /up HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
      {"begin request", "headers request POST /up", "complete request POST /up 1.1 @6 body=0 ''"},
      false);
}

TEST(HttpParser, SyncIgnoresStartLinesAfterTextOrNotWhole) {
  Harness h(MessageKind::Request);
  h.parser.start(false);
  h.feed("see GET /a HTTP/1.1\r\n");            // after text: a body line quoting a request
  h.feed(std::string("\x01") + "GET /b HTTP/1.1");  // held until its line ends...
  h.feed(std::string("\x01") + "GET /c HTTP/2.0\r\n");  // ...which it does not here
  h.feed(std::string("\x02") + " HTTP/1.1\r\n");        // a version without a request
  h.feed(std::string("\x03") + "GET  HTTP/1.1\r\n");    // no target
  EXPECT_TRUE(h.handler.events.empty());
  EXPECT_EQ(h.parser.state(), ParserState::Sync);
  EXPECT_EQ(h.parser.counters().sync_skipped_bytes, 21u + 16u + 18u + 12u + 16u);
}

TEST(HttpParser, EitherKindHandsBackAStartLineOfTheOtherKind) {
  Harness h(MessageKind::Request);
  h.parser.start(false);
  h.parser.set_either_kind(true);
  h.feed("body tail\r\nHTTP/1.1 200 OK\r\n");
  std::string bytes;
  std::uint64_t offset = 0;
  ASSERT_TRUE(h.parser.take_handoff(bytes, offset));
  EXPECT_EQ(bytes, "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(offset, 11u);
  EXPECT_TRUE(h.handler.events.empty());
  EXPECT_FALSE(h.parser.take_handoff(bytes, offset));
  EXPECT_EQ(h.parser.counters().sync_skipped_bytes, 11u);
}

}  // namespace
}  // namespace offpath
