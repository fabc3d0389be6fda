// Pairer driven through two real HttpParsers, the way a connection drives it: client
// bytes go to the request parser, server bytes to the response parser; the exchanges
// that come out are checked field by field.
#include "exchange/pairer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/recording_stream.hpp"

namespace offpath {
namespace {

using testing::bytes_of;

class Conn final : public ExchangeHandler {
 public:
  Conn() : pairer_(context(), *this), req_(MessageKind::Request, pairer_, ParserLimits{}),
           resp_(MessageKind::Response, pairer_, ParserLimits{}) {
    pairer_.set_request_parser(&req_);
    req_.start(true);
    resp_.start(true);
  }
  void on_exchange(Exchange&& ex) override { out.push_back(std::move(ex)); }

  void client(std::string_view s, std::int64_t ms = 0) {
    req_.feed(client_off_, bytes_of(s), Timestamp{ms * 1000});
    client_off_ += s.size();
  }
  void server(std::string_view s, std::int64_t ms = 0) {
    resp_.feed(server_off_, bytes_of(s), Timestamp{ms * 1000});
    server_off_ += s.size();
  }
  // Bytes lost by the capture, told to the parser and then the pairer as Connection does.
  void client_gap(std::uint64_t n) { gap(req_, MessageKind::Request, client_off_, n); }
  void server_gap(std::uint64_t n) { gap(resp_, MessageKind::Response, server_off_, n); }
  // The server acknowledged every client byte so far.
  void server_acks_all() { pairer_.set_server_ack(client_off_); }
  // The client acknowledged every server byte so far.
  void client_acks_all() { pairer_.set_client_ack(server_off_); }
  void end(Outcome why) {
    req_.finish(Timestamp{0});
    resp_.finish(Timestamp{0});
    pairer_.close(why);
  }

  static Pairer::Context context() {
    Pairer::Context ctx;
    const std::uint8_t c[4] = {10, 0, 0, 1};
    const std::uint8_t s[4] = {10, 0, 0, 2};
    ctx.client = {IpAddress::v4(c), 40000};
    ctx.server = {IpAddress::v4(s), 80};
    ctx.connection_id = 77;
    return ctx;
  }

  std::vector<Exchange> out;
  Pairer pairer_;
  HttpParser req_;
  HttpParser resp_;

 private:
  void gap(HttpParser& parser, MessageKind kind, std::uint64_t& off, std::uint64_t n) {
    const std::uint64_t filled = parser.counters().gap_filled_bytes;
    parser.gap(n, Timestamp{0});
    pairer_.on_stream_gap(kind, off, parser.counters().gap_filled_bytes - filled != n);
    off += n;
  }

  std::uint64_t client_off_ = 0;
  std::uint64_t server_off_ = 0;
};

std::string ok(int status, std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

TEST(Pairer, FifoWithPipelining) {
  Conn c;
  c.client("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nPOST /3 HTTP/1.1\r\nContent-Length: 1\r\n\r\nz");
  EXPECT_TRUE(c.out.empty());
  EXPECT_TRUE(c.pairer_.has_open());
  c.server(ok(200, "a") + ok(404, "bb"));
  ASSERT_EQ(c.out.size(), 2u);
  c.server(ok(500, "ccc"));
  ASSERT_EQ(c.out.size(), 3u);
  const char* uris[] = {"/1", "/2", "/3"};
  const int statuses[] = {200, 404, 500};
  const char* bodies[] = {"a", "bb", "ccc"};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const Exchange& e = c.out[i];
    EXPECT_EQ(e.index, i);
    EXPECT_EQ(e.outcome, Outcome::Complete);
    ASSERT_TRUE(e.request && e.response);
    EXPECT_EQ(e.request->uri, uris[i]);
    EXPECT_EQ(e.response->status, statuses[i]);
    EXPECT_EQ(e.response->body, bodies[i]);
    EXPECT_EQ(e.connection_id, 77u);
    EXPECT_EQ(e.client.port, 40000);
    EXPECT_EQ(e.anomalies, 0u);
  }
  EXPECT_FALSE(c.pairer_.has_open());
}

TEST(Pairer, InterimResponsesRecordedOnTheRequest) {
  Conn c;
  c.client("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  c.server("HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_TRUE(c.out.empty());
  c.client("data");
  c.server("HTTP/1.1 102 Processing\r\n\r\n" + ok(201, "made"));
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].interim_statuses, (std::vector<int>{100, 102}));
  EXPECT_EQ(c.out[0].response->status, 201);
  EXPECT_EQ(c.out[0].request->body, "data");
}

TEST(Pairer, HeadResponseHasNoBodyThenNextResponse) {
  Conn c;
  c.client("HEAD /h HTTP/1.1\r\n\r\nGET /g HTTP/1.1\r\n\r\n");
  c.server("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + ok(200, "ok"));
  ASSERT_EQ(c.out.size(), 2u);
  EXPECT_EQ(c.out[0].request->method, "HEAD");
  EXPECT_EQ(c.out[0].response->body_size, 0u);
  EXPECT_TRUE(c.out[0].response->complete);
  EXPECT_EQ(c.out[1].request->uri, "/g");
  EXPECT_EQ(c.out[1].response->body, "ok");
}

TEST(Pairer, ResponseWithoutRequestIsOrphan) {
  Conn c;
  c.server(ok(503, "down"));
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].outcome, Outcome::OrphanResponse);
  EXPECT_FALSE(c.out[0].request);
  ASSERT_TRUE(c.out[0].response);
  EXPECT_EQ(c.out[0].response->status, 503);
  EXPECT_EQ(c.pairer_.orphan_responses(), 1u);
  // The next request still gets its own response.
  c.client("GET /x HTTP/1.1\r\n\r\n");
  c.server(ok(200, ""));
  ASSERT_EQ(c.out.size(), 2u);
  EXPECT_EQ(c.out[1].outcome, Outcome::Complete);
  EXPECT_EQ(c.out[1].request->uri, "/x");
  EXPECT_EQ(c.out[1].index, 1u);
}

TEST(Pairer, ResponseToLostRequestIsOrphanByAck) {
  Conn c;
  c.client_gap(100);  // the first request was lost by the capture
  c.client("GET /b HTTP/1.1\r\n\r\n");  // at offset 100
  c.pairer_.set_server_ack(100);        // the server had received only the lost request
  c.server(ok(500, "for the lost one"));
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].outcome, Outcome::OrphanResponse);
  EXPECT_EQ(c.out[0].response->status, 500);
  EXPECT_FALSE(c.out[0].request);
  c.server_acks_all();
  c.server(ok(200, "for b"));
  ASSERT_EQ(c.out.size(), 2u);
  EXPECT_EQ(c.out[1].outcome, Outcome::Complete);
  EXPECT_EQ(c.out[1].request->uri, "/b");
  EXPECT_EQ(c.out[1].request->stream_offset, 100u);
  EXPECT_EQ(c.out[1].response->body, "for b");
}

// One request at a time, each sent after the previous response was read, as browsers,
// load generators and gateways to their upstreams do.
void sequential(Conn& c, std::string_view request) {
  c.client_acks_all();
  c.client(request);
  c.server_acks_all();
}

TEST(Pairer, LostResponseLeavesItsRequestWithoutOneAndTheNextPairs) {
  Conn c;
  sequential(c, "GET /1 HTTP/1.1\r\n\r\n");
  c.server(ok(200, "one"));
  sequential(c, "GET /2 HTTP/1.1\r\n\r\n");
  c.server_gap(ok(202, "two").size());  // the whole response to /2 lost by the capture
  sequential(c, "GET /3 HTTP/1.1\r\n\r\n");
  c.server(ok(203, "three"));
  ASSERT_EQ(c.out.size(), 3u);
  EXPECT_EQ(c.out[0].request->uri, "/1");
  EXPECT_EQ(c.out[0].response->status, 200);
  EXPECT_EQ(c.out[0].anomalies, 0u);
  EXPECT_EQ(c.out[1].request->uri, "/2");
  EXPECT_FALSE(c.out[1].response);
  EXPECT_EQ(c.out[1].outcome, Outcome::Complete);
  EXPECT_EQ(c.out[1].anomalies, anomaly::kGap);
  EXPECT_EQ(c.out[2].request->uri, "/3");
  EXPECT_EQ(c.out[2].response->status, 203);
  EXPECT_EQ(c.out[2].anomalies, 0u);  // the acknowledgements leave no doubt
  EXPECT_EQ(c.pairer_.orphan_responses(), 0u);
}

TEST(Pairer, LostResponseStartResyncsAndSkipsItsRequest) {
  Conn c;
  sequential(c, "GET /1 HTTP/1.1\r\n\r\n");
  const std::string lost = ok(202, "the body of two\n");
  c.server_gap(20);                  // the status line and some headers lost
  c.server(lost.substr(20));         // the rest: skipped while resynchronising
  sequential(c, "GET /2 HTTP/1.1\r\n\r\n");
  c.server(ok(203, "two"));
  ASSERT_EQ(c.out.size(), 2u);
  EXPECT_EQ(c.out[0].request->uri, "/1");
  EXPECT_FALSE(c.out[0].response);
  EXPECT_EQ(c.out[0].anomalies, anomaly::kGap);
  EXPECT_EQ(c.out[1].request->uri, "/2");
  EXPECT_EQ(c.out[1].response->status, 203);
}

TEST(Pairer, LostResponseAndNextRequestPairNothingWrongly) {
  Conn c;
  sequential(c, "GET /1 HTTP/1.1\r\n\r\n");
  c.server(ok(200, "one"));
  sequential(c, "GET /2 HTTP/1.1\r\n\r\n");
  c.server_gap(ok(202, "two").size());     // response to /2 lost
  c.client_gap(std::string("GET /3 HTTP/1.1\r\n\r\n").size());  // and /3 itself
  c.server_acks_all();                      // the server had /3 when it answered
  c.server(ok(203, "three"));
  ASSERT_EQ(c.out.size(), 3u);
  EXPECT_EQ(c.out[1].request->uri, "/2");
  EXPECT_FALSE(c.out[1].response);
  EXPECT_EQ(c.out[1].anomalies, anomaly::kGap);
  EXPECT_EQ(c.out[2].outcome, Outcome::OrphanResponse);
  EXPECT_EQ(c.out[2].response->status, 203);
  EXPECT_EQ(c.out[2].anomalies, anomaly::kGap);
  EXPECT_FALSE(c.pairer_.has_open());
}

TEST(Pairer, WholeExchangesLostMarkTheNextRequest) {
  Conn c;
  sequential(c, "GET /1 HTTP/1.1\r\n\r\n");
  c.server(ok(200, "one"));
  c.client_gap(std::string("GET /2 HTTP/1.1\r\n\r\n").size());
  c.server_gap(ok(202, "two").size());
  sequential(c, "GET /3 HTTP/1.1\r\n\r\n");
  c.server(ok(203, "three"));
  sequential(c, "GET /4 HTTP/1.1\r\n\r\n");
  c.server(ok(204, ""));
  ASSERT_EQ(c.out.size(), 3u);
  EXPECT_EQ(c.out[1].request->uri, "/3");
  EXPECT_EQ(c.out[1].response->status, 203);
  EXPECT_EQ(c.out[1].anomalies, anomaly::kGap);  // exchanges were lost before it
  EXPECT_EQ(c.out[2].anomalies, 0u);             // once
}

TEST(Pairer, RequestsParsedLateAfterLossPairByTheServersAck) {
  Conn c;
  sequential(c, "GET /1 HTTP/1.1\r\n\r\n");
  c.server(ok(200, "one"));
  sequential(c, "GET /2 HTTP/1.1\r\n\r\n");
  c.server_gap(3 * ok(202, "two").size());  // responses to /2, /3 and /4 lost
  c.client_gap(std::string("GET /3 HTTP/1.1\r\n\r\n").size());  // /3 lost
  // /4 and /5 were held behind the hole: their acknowledgements are not known.
  c.pairer_.forget_client_ack();
  c.client("GET /4 HTTP/1.1\r\n\r\n");
  c.client("GET /5 HTTP/1.1\r\n\r\n");
  c.server_acks_all();
  c.server(ok(205, "five"));
  ASSERT_EQ(c.out.size(), 4u);
  EXPECT_EQ(c.out[1].request->uri, "/2");
  EXPECT_FALSE(c.out[1].response);
  EXPECT_EQ(c.out[2].request->uri, "/4");  // the server had /5 when it answered
  EXPECT_FALSE(c.out[2].response);
  EXPECT_EQ(c.out[2].anomalies, anomaly::kGap);
  EXPECT_EQ(c.out[3].request->uri, "/5");
  EXPECT_EQ(c.out[3].response->status, 205);
}

TEST(Pairer, OrphanAfterAServerGapCarriesGap) {
  Conn c;
  // Everything up to a response was lost; its request's hole is declared only later.
  c.server_gap(500);
  c.server(ok(200, "for a lost request"));
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].outcome, Outcome::OrphanResponse);
  EXPECT_EQ(c.out[0].anomalies, anomaly::kGap);
}

TEST(Pairer, PipelinedRequestsWithALostResponsePairInOrderMarkedGap) {
  Conn c;
  c.client_acks_all();  // the three requests were sent together with one acknowledgement
  c.client("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
  c.server_acks_all();
  c.server(ok(200, "one"));
  c.server_gap(ok(202, "two").size());
  c.server(ok(203, "three"));
  // Sent together, the requests do not say which response was lost: in order, flagged.
  ASSERT_EQ(c.out.size(), 2u);
  EXPECT_EQ(c.out[0].anomalies, 0u);
  EXPECT_EQ(c.out[1].request->uri, "/2");
  EXPECT_EQ(c.out[1].anomalies, anomaly::kGap);
  c.end(Outcome::ConnectionClosed);
  ASSERT_EQ(c.out.size(), 3u);
  EXPECT_EQ(c.out[2].request->uri, "/3");
  EXPECT_FALSE(c.out[2].response);
  EXPECT_EQ(c.out[2].anomalies, anomaly::kGap);
}

TEST(Pairer, PipelinedAfterAStreamingResponseStayInOrderWithoutLoss) {
  Conn c;
  sequential(c, "GET /big HTTP/1.1\r\n\r\n");
  c.server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
  sequential(c, "GET /a HTTP/1.1\r\n\r\n");  // pipelined while /big streams
  c.server("567");
  sequential(c, "GET /b HTTP/1.1\r\n\r\n");
  c.server("89" + ok(201, "a") + ok(202, "b"));
  ASSERT_EQ(c.out.size(), 3u);
  EXPECT_EQ(c.out[1].request->uri, "/a");
  EXPECT_EQ(c.out[1].response->status, 201);
  EXPECT_EQ(c.out[2].request->uri, "/b");
  EXPECT_EQ(c.out[2].response->status, 202);
  for (const auto& ex : c.out) EXPECT_EQ(ex.anomalies, 0u);
}

TEST(Pairer, GapInsideABodyTouchesOnlyThatExchange) {
  Conn c;
  c.client("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  c.server_acks_all();
  c.server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n012");
  c.server_gap(4);  // body bytes: parsing goes on, no response start can hide there
  c.server("789" + ok(201, "b"));
  ASSERT_EQ(c.out.size(), 2u);
  EXPECT_EQ(c.out[0].anomalies, anomaly::kGap);
  EXPECT_EQ(c.out[0].response->body_missing, 4u);
  EXPECT_EQ(c.out[1].response->status, 201);
  EXPECT_EQ(c.out[1].anomalies, 0u);
}

TEST(Pairer, ARequestStillArrivingIsNotEmittedEmptyOnTimeout) {
  Conn c;
  c.client("POST /upload HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", 0);
  c.pairer_.expire(Timestamp{5'000'000});
  EXPECT_TRUE(c.out.empty());  // nothing of it complete: no record with neither side
  c.client("cd", 6000);
  c.server_acks_all();
  c.server(ok(200, "ok"), 6001);
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].outcome, Outcome::Complete);
  EXPECT_EQ(c.out[0].request->uri, "/upload");
  EXPECT_EQ(c.out[0].index, 0u);
}

TEST(Pairer, CloseEmitsOpenRequestsWithTheReason) {
  Conn c;
  c.client("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
  c.server(ok(200, "") + "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npart");
  ASSERT_EQ(c.out.size(), 1u);
  c.end(Outcome::ConnectionReset);
  ASSERT_EQ(c.out.size(), 3u);
  EXPECT_EQ(c.out[0].outcome, Outcome::Complete);
  EXPECT_EQ(c.out[1].outcome, Outcome::ConnectionReset);
  ASSERT_TRUE(c.out[1].response);  // what was seen of the cut response is kept
  EXPECT_EQ(c.out[1].response->body, "part");
  EXPECT_NE(c.out[1].anomalies & anomaly::kResponseIncomplete, 0u);
  EXPECT_EQ(c.out[2].outcome, Outcome::ConnectionReset);
  EXPECT_FALSE(c.out[2].response);
  EXPECT_EQ(c.out[2].request->uri, "/3");
  EXPECT_FALSE(c.pairer_.has_open());
}

// A backend that resets in the middle of its header block (a gateway's /reset-head): the
// status line alone is no response, for Wireshark and for the gateway that answers 502.
TEST(Pairer, AStatusLineCutInsideItsHeaderBlockIsNoResponse) {
  Conn c;
  c.client("GET /reset-head HTTP/1.1\r\n\r\n");
  c.server("HTTP/1.1 200 OK\r\nContent-");
  c.end(Outcome::ConnectionReset);
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].outcome, Outcome::ConnectionReset);
  EXPECT_EQ(c.out[0].request->uri, "/reset-head");
  EXPECT_FALSE(c.out[0].response);
  EXPECT_NE(c.out[0].anomalies & anomaly::kResponseIncomplete, 0u);
}

TEST(Pairer, ExpireEmitsTimeoutAndConsumesTheLateResponse) {
  Conn c;
  c.client("GET /slow HTTP/1.1\r\n\r\n", 1000);
  c.pairer_.expire(Timestamp{5'000'000});
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].outcome, Outcome::Timeout);
  EXPECT_EQ(c.out[0].request->uri, "/slow");
  EXPECT_FALSE(c.out[0].response);
  c.client("GET /next HTTP/1.1\r\n\r\n", 10000);
  c.pairer_.expire(Timestamp{5'000'000});  // /next is newer than the deadline
  EXPECT_EQ(c.out.size(), 1u);
  c.server(ok(504, "late"), 11000);  // answers /slow: consumed, not paired with /next
  EXPECT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.pairer_.late_responses(), 1u);
  c.server(ok(200, "next"), 11001);
  ASSERT_EQ(c.out.size(), 2u);
  EXPECT_EQ(c.out[1].outcome, Outcome::Complete);
  EXPECT_EQ(c.out[1].request->uri, "/next");
  EXPECT_EQ(c.out[1].response->status, 200);
  EXPECT_EQ(c.out[1].response->body, "next");
  c.end(Outcome::CaptureEnded);
  EXPECT_EQ(c.out.size(), 2u);  // the timed-out request is not emitted twice
}

TEST(Pairer, ConnectAcceptedTunnelsBothDirections) {
  Conn c;
  c.client("CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n\x16\x03\x01");
  c.server("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03");
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].outcome, Outcome::Complete);
  EXPECT_EQ(c.out[0].request->method, "CONNECT");
  EXPECT_EQ(c.out[0].response->status, 200);
  EXPECT_NE(c.out[0].anomalies & anomaly::kUpgraded, 0u);
  EXPECT_EQ(c.req_.state(), ParserState::Tunnel);
  EXPECT_EQ(c.resp_.state(), ParserState::Tunnel);
  EXPECT_EQ(c.req_.counters().tunnel_bytes, 3u);
  EXPECT_EQ(c.resp_.counters().tunnel_bytes, 3u);
}

TEST(Pairer, ConnectRefusedKeepsParsing) {
  Conn c;
  c.client("CONNECT db:5432 HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
  c.server(ok(407, "auth"));
  EXPECT_EQ(c.req_.state(), ParserState::Parsing);
  c.server(ok(200, "fine"));
  ASSERT_EQ(c.out.size(), 2u);
  EXPECT_EQ(c.out[0].response->status, 407);
  EXPECT_EQ(c.out[0].anomalies & anomaly::kUpgraded, 0u);
  EXPECT_EQ(c.out[1].request->uri, "/after");
  EXPECT_EQ(c.out[1].response->status, 200);
}

TEST(Pairer, WebSocketUpgrade) {
  Conn c;
  c.client("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x01x");
  c.server("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x01y");
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].response->status, 101);
  EXPECT_NE(c.out[0].anomalies & anomaly::kUpgraded, 0u);
  EXPECT_EQ(c.req_.state(), ParserState::Tunnel);
  EXPECT_EQ(c.resp_.state(), ParserState::Tunnel);
}

TEST(Pairer, RequestParseErrorIsAnExchange) {
  Conn c;
  c.client("BREW /pot HTTP/1.1\r\n\r\n");
  ASSERT_EQ(c.out.size(), 0u);  // waits for a possible response
  c.server(ok(400, "bad"));
  ASSERT_EQ(c.out.size(), 1u);
  EXPECT_EQ(c.out[0].outcome, Outcome::ParseError);
  EXPECT_EQ(c.out[0].request->method, "BREW");
  EXPECT_FALSE(c.out[0].error_detail.empty());
  EXPECT_NE(c.out[0].anomalies & anomaly::kRequestIncomplete, 0u);
}

TEST(Pairer, MidStreamAnomalyFromContext) {
  Pairer::Context ctx = Conn::context();
  ctx.base_anomalies = anomaly::kMidStream;
  struct Out final : ExchangeHandler {
    void on_exchange(Exchange&& e) override { got.push_back(std::move(e)); }
    std::vector<Exchange> got;
  } out;
  Pairer p(ctx, out);
  HttpParser resp(MessageKind::Response, p, ParserLimits{});
  resp.start(true);
  std::string r = ok(200, "x");
  resp.feed(0, bytes_of(r), Timestamp{1});
  ASSERT_EQ(out.got.size(), 1u);
  EXPECT_EQ(out.got[0].anomalies, anomaly::kMidStream);
  EXPECT_EQ(out.got[0].outcome, Outcome::OrphanResponse);
}

}  // namespace
}  // namespace offpath
