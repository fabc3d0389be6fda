#include "http2/session.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "support/h2_builder.hpp"

namespace offpath::http2 {
namespace {

using test::Bytes;
using test::frame;

class Sink : public ExchangeHandler {
 public:
  void on_exchange(Exchange&& ex) override { got.push_back(std::move(ex)); }
  std::vector<Exchange> got;
};

Bytes str(std::string_view s) { return test::bytes(s); }

constexpr std::int64_t kTimeout = 1'000'000;  // the fixture's response timeout
constexpr std::int64_t kT = 1'700'000'000'000'000;  // a packet time far from zero

class Http2SessionTest : public ::testing::Test {
 protected:
  Http2SessionTest() : session(limits(), sink) {}
  static Http2Limits limits() {
    Http2Limits l;
    l.max_body = 16;
    l.max_header_bytes = 256;
    l.max_frame_bytes = 4096;
    l.max_streams = 4;
    l.response_timeout_us = kTimeout;
    return l;
  }
  void client(const Bytes& b, std::int64_t t = 1) { session.on_data(true, b, Timestamp{t}); }
  void server(const Bytes& b, std::int64_t t = 2) { session.on_data(false, b, Timestamp{t}); }
  Bytes request(std::uint32_t id, const char* path, std::uint8_t flags = flag::kEndHeaders |
                                                                        flag::kEndStream) {
    return frame(FrameType::Headers, flags, id,
                 req.block({{":method", "GET"}, {":scheme", "http"}, {":path", path},
                            {":authority", "svc.local"}, {"user-agent", "t"}}));
  }
  Bytes response(std::uint32_t id, const char* status, std::uint8_t flags = flag::kEndHeaders) {
    return frame(FrameType::Headers, flags, id,
                 resp.block({{":status", status}, {"content-type", "text/plain"}}));
  }

  test::Deflater req;
  test::Deflater resp;
  Sink sink;
  Http2Session session;
};

TEST_F(Http2SessionTest, PriorKnowledgeExchangesPairByStreamId) {
  client(test::cat({test::preface(), test::settings({}), request(1, "/a"), request(3, "/b")}), 10);
  server(test::cat({test::settings({}), response(3, "404", flag::kEndHeaders | flag::kEndStream),
                    response(1, "200"), frame(FrameType::Data, flag::kEndStream, 1,
                                              str("hello"))}),
         20);
  ASSERT_EQ(sink.got.size(), 2u);
  const Exchange& b = sink.got[0];
  EXPECT_EQ(b.request->uri, "/b");
  EXPECT_EQ(b.response->status, 404);
  EXPECT_EQ(b.index, 1u);
  const Exchange& a = sink.got[1];
  EXPECT_EQ(a.outcome, Outcome::Complete);
  EXPECT_EQ(a.request->method, "GET");
  EXPECT_EQ(a.request->uri, "/a");
  EXPECT_EQ(a.request->version(), "2");
  ASSERT_NE(a.request->header("host"), nullptr);
  EXPECT_EQ(*a.request->header("host"), "svc.local");
  EXPECT_EQ(a.response->status, 200);
  EXPECT_EQ(a.response->body, "hello");
  EXPECT_EQ(a.response->body_size, 5u);
  EXPECT_TRUE(a.response->complete);
  EXPECT_EQ(a.request->first_byte.micros, 10);
  EXPECT_EQ(a.response->last_byte.micros, 20);
  EXPECT_EQ(a.anomalies, 0u);
  EXPECT_EQ(session.counters().streams, 2u);
  EXPECT_EQ(session.open_streams(), 0u);
}

TEST_F(Http2SessionTest, HeaderBlockAcrossContinuationAndBodyBounded) {
  Bytes blk = req.block({{":method", "POST"}, {":scheme", "http"}, {":path", "/upload"},
                         {":authority", "h"}, {"x-long", std::string(300, 'v')}});
  const auto half = static_cast<std::ptrdiff_t>(blk.size() / 2);
  client(test::cat({test::preface(),
                    frame(FrameType::Headers, 0, 1, Bytes(blk.begin(), blk.begin() + half)),
                    frame(FrameType::Continuation, flag::kEndHeaders, 1,
                          Bytes(blk.begin() + half, blk.end())),
                    frame(FrameType::Data, 0, 1, Bytes(40, 'x')),
                    frame(FrameType::Data, flag::kEndStream, 1, Bytes(10, 'y'))}));
  server(response(1, "201", flag::kEndHeaders | flag::kEndStream));
  ASSERT_EQ(sink.got.size(), 1u);
  const Exchange& ex = sink.got[0];
  EXPECT_EQ(ex.request->method, "POST");
  EXPECT_EQ(ex.request->uri, "/upload");
  EXPECT_TRUE(ex.request->headers_truncated);  // x-long is above max_header_bytes
  EXPECT_NE(ex.anomalies & anomaly::kHeadersTruncated, 0u);
  EXPECT_EQ(ex.request->body_size, 50u);
  EXPECT_EQ(ex.request->body, std::string(16, 'x'));
  EXPECT_TRUE(ex.request->body_truncated);
  EXPECT_EQ(ex.response->status, 201);
}

TEST_F(Http2SessionTest, HugeHeaderBlockIsBounded) {
  // 400 KB of headers in 100 CONTINUATION frames: decoded up to max_header_block only.
  Http2Limits l = limits();
  l.max_header_block = 65536;
  Http2Session bounded(l, sink);
  test::Headers h = {{":method", "GET"}, {":path", "/huge"}};
  for (int i = 0; i < 100; ++i) h.push_back({"x-" + std::to_string(i), std::string(4000, 'q')});
  test::Deflater plain(0);  // no dynamic table: the block stays large
  Bytes blk = plain.block(h);
  ASSERT_GT(blk.size(), 200000u);
  Bytes wire = test::preface();
  const std::size_t step = 4000;
  for (std::size_t off = 0; off < blk.size(); off += step) {
    const std::size_t n = std::min(step, blk.size() - off);
    const bool first = off == 0;
    const bool last = off + n == blk.size();
    const auto b = blk.begin() + static_cast<std::ptrdiff_t>(off);
    wire = test::cat({wire, frame(first ? FrameType::Headers : FrameType::Continuation,
                                  static_cast<std::uint8_t>((last ? flag::kEndHeaders : 0) |
                                                            (first ? flag::kEndStream : 0)),
                                  1, Bytes(b, b + static_cast<std::ptrdiff_t>(n)))});
  }
  bounded.on_data(true, wire, Timestamp{1});
  EXPECT_LT(bounded.heap_bytes(), 64 * 1024);
  bounded.finish(Outcome::CaptureEnded);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].request->uri, "/huge");  // read before the bound
  EXPECT_NE(sink.got[0].anomalies & anomaly::kHpackDesync, 0u);
  EXPECT_TRUE(sink.got[0].request->headers_truncated);
  EXPECT_EQ(bounded.counters().hpack_errors, 1u);
}

TEST_F(Http2SessionTest, InterimResponseAndTrailers) {
  client(test::cat({test::preface(), request(1, "/t")}));
  server(test::cat({frame(FrameType::Headers, flag::kEndHeaders, 1, resp.block({{":status", "103"}})),
                    response(1, "200"), frame(FrameType::Data, 0, 1, str("x")),
                    frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, 1,
                          resp.block({{"x-trailer", "done"}}))}));
  ASSERT_EQ(sink.got.size(), 1u);
  const Exchange& ex = sink.got[0];
  EXPECT_EQ(ex.interim_statuses, std::vector<int>{103});
  EXPECT_EQ(ex.response->status, 200);
  ASSERT_NE(ex.response->header("x-trailer"), nullptr);
  EXPECT_EQ(*ex.response->header("x-trailer"), "done");
}

TEST_F(Http2SessionTest, RstStreamEndsOnlyThatStream) {
  client(test::cat({test::preface(), request(1, "/slow"), request(3, "/fast")}));
  server(frame(FrameType::RstStream, 0, 1, test::be32(7)), 5);  // REFUSED_STREAM
  server(response(3, "200", flag::kEndHeaders | flag::kEndStream), 6);
  ASSERT_EQ(sink.got.size(), 2u);
  EXPECT_EQ(sink.got[0].outcome, Outcome::StreamReset);
  EXPECT_EQ(sink.got[0].error_detail, "RST_STREAM REFUSED_STREAM from server");
  EXPECT_FALSE(sink.got[0].response.has_value());
  EXPECT_EQ(sink.got[1].outcome, Outcome::Complete);
  EXPECT_EQ(session.counters().resets, 1u);
  // Late frames of the reset stream start nothing.
  server(response(1, "200", flag::kEndHeaders | flag::kEndStream), 7);
  session.finish(Outcome::CaptureEnded);
  EXPECT_EQ(sink.got.size(), 2u);
}

// grpc-deadline: the client cancels at its deadline; the server's trailers (sent before
// it read the RST_STREAM) come after it and belong in the record.
TEST_F(Http2SessionTest, ClientResetKeepsTheServersAnswerInFlight) {
  client(test::cat({test::preface(),
                    frame(FrameType::Headers, flag::kEndHeaders, 1,
                          req.block({{":method", "POST"}, {":path", "/offpath.test.Catalog/Slow"},
                                     {"content-type", "application/grpc"}})),
                    frame(FrameType::Data, flag::kEndStream, 1,
                          test::bytes(std::string_view("\0\0\0\0\1x", 6)))}),
         kT);
  client(frame(FrameType::RstStream, 0, 1, test::be32(8)), kT + 300'000);  // CANCEL
  EXPECT_TRUE(sink.got.empty());
  EXPECT_EQ(session.open_streams(), 1u);
  server(test::cat({frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, 1,
                          resp.block({{":status", "200"}, {"content-type", "application/grpc"},
                                      {"grpc-status", "4"},
                                      {"grpc-message", "Deadline Exceeded"}})),
                    frame(FrameType::RstStream, 0, 1, test::be32(0))}),
         kT + 300'200);
  ASSERT_EQ(sink.got.size(), 1u);
  const Exchange& ex = sink.got[0];
  EXPECT_EQ(ex.outcome, Outcome::StreamReset);
  EXPECT_EQ(ex.error_detail, "RST_STREAM CANCEL from client");
  ASSERT_TRUE(ex.response.has_value());
  EXPECT_EQ(ex.response->status, 200);
  ASSERT_TRUE(ex.grpc.has_value());
  EXPECT_EQ(ex.grpc->status, 4);
  EXPECT_EQ(ex.grpc->message, "Deadline Exceeded");
  EXPECT_EQ(ex.anomalies & anomaly::kResponseIncomplete, 0u);
  EXPECT_EQ(session.counters().resets, 2u);
  EXPECT_EQ(session.open_streams(), 0u);
  session.finish(Outcome::CaptureEnded);
  EXPECT_EQ(sink.got.size(), 1u);
}

TEST_F(Http2SessionTest, ClientResetEndsByServerResetOrAfterTheBound) {
  client(test::cat({test::preface(), request(1, "/a"), request(3, "/b")}), kT);
  server(response(1, "200"), kT + 10);  // stream 1's response begins, then the client resets
  client(test::cat({frame(FrameType::RstStream, 0, 1, test::be32(8)),
                    frame(FrameType::RstStream, 0, 3, test::be32(8))}),
         kT + 100);
  // The server resets stream 3 itself: it is emitted, with the client's reason.
  server(frame(FrameType::RstStream, 0, 3, test::be32(8)), kT + 200);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].request->uri, "/b");
  EXPECT_EQ(sink.got[0].outcome, Outcome::StreamReset);
  EXPECT_EQ(sink.got[0].error_detail, "RST_STREAM CANCEL from client");
  // Stream 1 waits for the server until kResetDrainMicros after the reset, no longer.
  server(frame(FrameType::Data, 0, 1, str("part")), kT + 100 + kResetDrainMicros - 1);
  EXPECT_EQ(sink.got.size(), 1u);
  server(frame(FrameType::Ping, 0, 0, str("12345678")), kT + 100 + kResetDrainMicros);
  ASSERT_EQ(sink.got.size(), 2u);
  const Exchange& a = sink.got[1];
  EXPECT_EQ(a.request->uri, "/a");
  EXPECT_EQ(a.outcome, Outcome::StreamReset);
  ASSERT_TRUE(a.response.has_value());
  EXPECT_EQ(a.response->body, "part");
  EXPECT_NE(a.anomalies & anomaly::kResponseIncomplete, 0u);
  // A reset stream the connection's end finds is stream_reset, not the end's outcome.
  client(request(5, "/c"), kT + 2'000'000);
  client(frame(FrameType::RstStream, 0, 5, test::be32(8)), kT + 2'000'100);
  session.finish(Outcome::ConnectionClosed);
  ASSERT_EQ(sink.got.size(), 3u);
  EXPECT_EQ(sink.got[2].request->uri, "/c");
  EXPECT_EQ(sink.got[2].outcome, Outcome::StreamReset);
}

// Long-lived connections: a stream whose request ended and whose response did not begin
// within the response timeout is emitted then, on packet time, while the others go on.
TEST_F(Http2SessionTest, StreamTimesOutWhileTheConnectionStaysUp) {
  client(test::cat({test::preface(), request(1, "/lost"), request(3, "/ok")}), kT);
  server(response(3, "200", flag::kEndHeaders | flag::kEndStream), kT + 1000);
  ASSERT_EQ(sink.got.size(), 1u);
  server(frame(FrameType::Ping, 0, 0, str("12345678")), kT + kTimeout - 1);
  EXPECT_EQ(sink.got.size(), 1u);
  client(request(5, "/next"), kT + kTimeout);  // the packet that finds stream 1 overdue
  ASSERT_EQ(sink.got.size(), 2u);
  const Exchange& t = sink.got[1];
  EXPECT_EQ(t.outcome, Outcome::Timeout);
  EXPECT_EQ(t.request->uri, "/lost");
  EXPECT_FALSE(t.response.has_value());
  EXPECT_EQ(session.open_streams(), 1u);  // stream 5
  // Its answer comes after all: counted late, no second record.
  server(response(1, "200", flag::kEndHeaders | flag::kEndStream), kT + kTimeout + 10);
  EXPECT_EQ(session.late_responses(), 1u);
  server(response(5, "204", flag::kEndHeaders | flag::kEndStream), kT + kTimeout + 20);
  ASSERT_EQ(sink.got.size(), 3u);
  EXPECT_EQ(sink.got[2].request->uri, "/next");
  EXPECT_EQ(sink.got[2].outcome, Outcome::Complete);
  EXPECT_EQ(session.late_responses(), 1u);
  EXPECT_EQ(session.counters().streams, 3u);
}

TEST_F(Http2SessionTest, ResponseTimeoutCountsFromTheRequestsEnd) {
  // Stream 1's request ends 0.9 s after it began (a client-streaming call); stream 3's
  // response began in time and goes on (server streaming): neither is overdue at 1.5 s.
  client(test::cat({test::preface(), request(1, "/upload", flag::kEndHeaders),
                    request(3, "/watch")}),
         kT);
  server(response(3, "200"), kT + 1000);
  client(frame(FrameType::Data, flag::kEndStream, 1, str("body")), kT + 900'000);
  session.expire(Timestamp{kT + 1'500'000});
  EXPECT_TRUE(sink.got.empty());
  // With no packet on the connection, the worker's sweep calls expire().
  session.expire(Timestamp{kT + 900'000 + kTimeout});
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].request->uri, "/upload");
  EXPECT_EQ(sink.got[0].outcome, Outcome::Timeout);
  EXPECT_EQ(sink.got[0].request->body, "body");
  // An interim response is not the response: 103 then nothing is still a timeout.
  client(request(5, "/hint"), kT + 2'000'000);
  server(frame(FrameType::Headers, flag::kEndHeaders, 5, resp.block({{":status", "103"}})),
         kT + 2'000'100);
  session.expire(Timestamp{kT + 3'000'000});
  ASSERT_EQ(sink.got.size(), 2u);
  EXPECT_EQ(sink.got[1].request->uri, "/hint");
  EXPECT_EQ(sink.got[1].outcome, Outcome::Timeout);
  EXPECT_EQ(sink.got[1].interim_statuses, std::vector<int>{103});
  session.finish(Outcome::CaptureEnded);
  ASSERT_EQ(sink.got.size(), 3u);
  EXPECT_EQ(sink.got[2].request->uri, "/watch");
  EXPECT_EQ(sink.got[2].outcome, Outcome::CaptureEnded);
}

// At the cap, new streams are counted and ignored; streams that time out free their
// slots, so a long-lived connection goes on being recorded.
TEST_F(Http2SessionTest, StreamCapIsCountedAndTimeoutsFreeSlots) {
  Bytes b = test::preface();
  for (std::uint32_t id = 1; id <= 9; id += 2) b = test::cat({b, request(id, "/x")});
  client(b, kT);
  EXPECT_EQ(session.open_streams(), 4u);
  EXPECT_EQ(session.counters().streams_dropped, 1u);
  server(response(9, "200", flag::kEndHeaders | flag::kEndStream), kT + 10);  // dropped: ignored
  EXPECT_TRUE(sink.got.empty());
  client(request(11, "/y"), kT + kTimeout);
  EXPECT_EQ(sink.got.size(), 4u);
  EXPECT_EQ(session.open_streams(), 1u);
  EXPECT_EQ(session.counters().streams_dropped, 1u);
  server(response(11, "200", flag::kEndHeaders | flag::kEndStream), kT + kTimeout + 10);
  ASSERT_EQ(sink.got.size(), 5u);
  EXPECT_EQ(sink.got[4].request->uri, "/y");
  EXPECT_EQ(sink.got[4].outcome, Outcome::Complete);
}

// A DATA frame is buffered no further than the body kept: big frames cost no memory.
TEST_F(Http2SessionTest, BigDataFramesAreNotBuffered) {
  client(test::cat({test::preface(), request(1, "/big")}));
  const std::int64_t before = session.state_bytes();
  server(test::cat({response(1, "200"),
                    frame(FrameType::Data, flag::kEndStream, 1, Bytes(3000, 'z'))}));
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].response->body_size, 3000u);
  EXPECT_EQ(sink.got[0].response->body, std::string(16, 'z'));
  EXPECT_TRUE(sink.got[0].response->body_truncated);
  EXPECT_LT(session.state_bytes() - before, 1000);
}

TEST_F(Http2SessionTest, GoAwayEndsStreamsAboveLastId) {
  client(test::cat({test::preface(), request(1, "/a"), request(3, "/b"), request(5, "/c")}));
  Bytes ga = test::cat({test::be32(1), test::be32(0)});  // last stream 1, NO_ERROR
  server(test::cat({frame(FrameType::GoAway, 0, 0, ga),
                    response(1, "200", flag::kEndHeaders | flag::kEndStream)}));
  ASSERT_EQ(sink.got.size(), 3u);
  EXPECT_EQ(sink.got[0].outcome, Outcome::GoAway);
  EXPECT_EQ(sink.got[1].outcome, Outcome::GoAway);
  EXPECT_EQ(sink.got[0].error_detail, "GOAWAY NO_ERROR");
  EXPECT_EQ(sink.got[2].request->uri, "/a");
  EXPECT_EQ(sink.got[2].outcome, Outcome::Complete);
  EXPECT_EQ(session.counters().goaways, 1u);
}

TEST_F(Http2SessionTest, GapInHeaderBlockDesyncsHpackButStreamsAreEmitted) {
  client(test::cat({test::preface(), request(1, "/seen")}));
  Bytes h = request(3, "/lost");
  client(Bytes(h.begin(), h.begin() + 12));
  session.on_gap(true, 20, Timestamp{1});
  client(request(5, "/after"));  // framing is gone: nothing more parsed in this direction
  server(test::cat({response(1, "200", flag::kEndHeaders | flag::kEndStream)}));
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].request->uri, "/seen");
  EXPECT_NE(sink.got[0].anomalies & anomaly::kGap, 0u);
  EXPECT_GT(session.counters().skipped_bytes, 0u);
  // A server gap: the open stream keeps no response it never had.
  Sink other;
  Http2Session s2(limits(), other);
  test::Deflater r2;
  s2.on_data(true, test::cat({test::preface(),
                              frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, 1,
                                    r2.block({{":method", "GET"}, {":path", "/w"}}))}),
             Timestamp{1});
  s2.on_gap(false, 100, Timestamp{2});
  s2.finish(Outcome::ConnectionClosed);
  ASSERT_EQ(other.got.size(), 1u);
  EXPECT_FALSE(other.got[0].response.has_value());
  EXPECT_EQ(other.got[0].outcome, Outcome::ConnectionClosed);
  EXPECT_NE(other.got[0].anomalies & anomaly::kGap, 0u);
}

TEST_F(Http2SessionTest, GapInsideDataIsBodyMissingAndFramingSurvives) {
  client(test::cat({test::preface(), request(1, "/a"), request(3, "/b")}));
  Bytes data = frame(FrameType::Data, 0, 1, Bytes(100, 'd'));
  server(test::cat({response(1, "200"), Bytes(data.begin(), data.begin() + 9 + 10)}));
  session.on_gap(false, 30, Timestamp{3});  // bytes 10..39 of the payload
  server(test::cat({Bytes(data.begin() + 9 + 40, data.end()),
                    frame(FrameType::Data, flag::kEndStream, 1, str("end")),
                    response(3, "200", flag::kEndHeaders | flag::kEndStream)}));
  ASSERT_EQ(sink.got.size(), 2u);
  const Exchange& a = sink.got[0];
  EXPECT_EQ(a.request->uri, "/a");
  EXPECT_EQ(a.outcome, Outcome::Complete);
  EXPECT_EQ(a.response->body_size, 103u);
  EXPECT_EQ(a.response->body_missing, 30u);
  EXPECT_EQ(a.response->body, std::string(10, 'd'));
  EXPECT_NE(a.anomalies & anomaly::kGap, 0u);
  EXPECT_EQ(sink.got[1].request->uri, "/b");
  EXPECT_EQ(sink.got[1].anomalies, 0u);
  EXPECT_EQ(session.counters().skipped_bytes, 0u);
}

TEST_F(Http2SessionTest, UndecodableHeaderBlockIsHpackDesync) {
  client(test::cat({test::preface(), request(1, "/ok")}));
  // An indexed field pointing past both tables: HPACK cannot decode the block.
  server(frame(FrameType::Headers, flag::kEndHeaders, 1, Bytes{0xff, 0x7f}));
  server(response(1, "200", flag::kEndHeaders | flag::kEndStream));
  session.finish(Outcome::ConnectionClosed);
  ASSERT_EQ(sink.got.size(), 1u);
  const Exchange& ex = sink.got[0];
  EXPECT_EQ(ex.request->uri, "/ok");
  EXPECT_NE(ex.anomalies & anomaly::kHpackDesync, 0u);
  // The next block is read field by field: :status is in the static table.
  EXPECT_EQ(ex.response->status, 200);
  EXPECT_EQ(session.counters().hpack_errors, 1u);
}

// The client's encoder uses a 64 KiB table (a table size update opens its first block).
// Decoded only when the server announced it: SETTINGS_HEADER_TABLE_SIZE is honoured.
void send_big_table_requests(Http2Session& session, bool announce) {
  test::Deflater big(65536);
  nghttp2_hd_deflate_change_table_size(big.get(), 65536);
  if (announce) session.on_data(false, test::settings({{1, 65536}}), Timestamp{1});
  const std::string v(3000, 'a');
  for (std::uint32_t id : {1u, 3u}) {
    session.on_data(true,
                    test::cat({id == 1 ? test::preface() : Bytes{},
                               frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, id,
                                     big.block({{":method", "GET"},
                                                {":path", "/" + std::to_string(id)},
                                                {"x-big-" + std::to_string(id), v}}))}),
                    Timestamp{2});
  }
  session.finish(Outcome::CaptureEnded);
}

TEST_F(Http2SessionTest, HeaderTableSizeSettingIsHonoured) {
  send_big_table_requests(session, true);
  ASSERT_EQ(sink.got.size(), 2u);
  for (const auto& ex : sink.got) EXPECT_EQ(ex.anomalies & anomaly::kHpackDesync, 0u);
  EXPECT_EQ(session.counters().hpack_errors, 0u);

  Sink other;
  Http2Session unannounced(limits(), other);
  send_big_table_requests(unannounced, false);
  // Still emitted, with what could be read: nothing of the block that opened with a table
  // size above the announced one; the next one, read field by field, needs no table.
  ASSERT_EQ(other.got.size(), 2u);
  for (const auto& ex : other.got) {
    const bool first = ex.request->header("x-big-1") == nullptr && ex.request->uri != "/3";
    EXPECT_EQ((ex.anomalies & anomaly::kHpackDesync) != 0, first);
    EXPECT_EQ(ex.request->uri, first ? "" : "/3");
  }
  EXPECT_EQ(unannounced.counters().hpack_errors, 1u);
}

TEST_F(Http2SessionTest, StreamTableIsBoundedAndFinishEmitsOpenStreams) {
  Bytes b = test::preface();
  for (std::uint32_t id = 1; id <= 11; id += 2) b = test::cat({b, request(id, "/x")});
  client(b);
  EXPECT_EQ(session.open_streams(), 4u);
  EXPECT_EQ(session.counters().streams_dropped, 2u);
  EXPECT_GT(session.heap_bytes(), 0);
  session.finish(Outcome::CaptureEnded);
  ASSERT_EQ(sink.got.size(), 4u);
  for (const auto& ex : sink.got) {
    EXPECT_EQ(ex.outcome, Outcome::CaptureEnded);
    EXPECT_FALSE(ex.response.has_value());
  }
}

TEST_F(Http2SessionTest, UpgradedRequestIsStreamOne) {
  HttpMessage up;
  up.method = "GET";
  up.uri = "/up";
  up.complete = true;
  up.first_byte = Timestamp{1};
  up.version_minor = 1;
  session.adopt_upgrade_request(std::move(up), {101}, anomaly::kMidStream);
  client(test::cat({test::preface(), test::settings({})}));
  server(test::cat({test::settings({}), response(1, "200"),
                    frame(FrameType::Data, flag::kEndStream, 1, str("hi"))}));
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].request->uri, "/up");
  EXPECT_EQ(sink.got[0].request->version_minor, 1);  // as sent: HTTP/1.1
  EXPECT_EQ(sink.got[0].response->version_major, 2);
  EXPECT_EQ(sink.got[0].response->body, "hi");
  EXPECT_EQ(sink.got[0].interim_statuses, std::vector<int>{101});
  EXPECT_EQ(sink.got[0].anomalies, anomaly::kMidStream);
  EXPECT_EQ(sink.got[0].outcome, Outcome::Complete);
  EXPECT_EQ(session.counters().upgrades, 1u);
}

TEST_F(Http2SessionTest, UpgradedRequestTimesOutFromItsEnd) {
  HttpMessage up;
  up.method = "GET";
  up.uri = "/up";
  up.complete = true;
  up.first_byte = Timestamp{kT};
  up.last_byte = Timestamp{kT};
  session.adopt_upgrade_request(std::move(up), {101}, 0);
  client(test::cat({test::preface(), test::settings({})}), kT + 10);
  server(test::settings({}), kT + kTimeout);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].outcome, Outcome::Timeout);
}

TEST_F(Http2SessionTest, GrpcStatusFromTrailers) {
  Bytes blk = req.block({{":method", "POST"}, {":scheme", "http"},
                         {":path", "/helloworld.Greeter/SayHello"}, {":authority", "g"},
                         {"content-type", "application/grpc"}, {"te", "trailers"}});
  using namespace std::string_view_literals;
  Bytes msg = test::bytes("\0\0\0\0\x03" "abc"sv);
  client(test::cat({test::preface(), frame(FrameType::Headers, flag::kEndHeaders, 1, blk),
                    frame(FrameType::Data, flag::kEndStream, 1, msg)}));
  server(test::cat(
      {frame(FrameType::Headers, flag::kEndHeaders, 1,
             resp.block({{":status", "200"}, {"content-type", "application/grpc"}})),
       frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, 1,
             resp.block({{"grpc-status", "14"}, {"grpc-message", "no%20backend"}}))}));
  ASSERT_EQ(sink.got.size(), 1u);
  const Exchange& ex = sink.got[0];
  ASSERT_TRUE(ex.grpc.has_value());
  EXPECT_EQ(ex.grpc->status, 14);
  EXPECT_EQ(ex.grpc->message, "no backend");
  EXPECT_EQ(ex.grpc->service, "helloworld.Greeter");
  EXPECT_EQ(ex.grpc->method, "SayHello");
  EXPECT_EQ(ex.request->body, std::string(reinterpret_cast<const char*>(msg.data()), msg.size()));
  EXPECT_EQ(ex.anomalies & anomaly::kResponseIncomplete, 0u);
}

TEST_F(Http2SessionTest, GrpcResponseWithoutTrailersIsIncomplete) {
  client(test::cat({test::preface(),
                    frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, 1,
                          req.block({{":method", "POST"}, {":path", "/s.S/M"},
                                     {"content-type", "application/grpc+proto"}}))}));
  server(frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, 1,
               resp.block({{":status", "200"}, {"content-type", "application/grpc"}})));
  ASSERT_EQ(sink.got.size(), 1u);
  ASSERT_TRUE(sink.got[0].grpc.has_value());
  EXPECT_EQ(sink.got[0].grpc->status, -1);
  EXPECT_NE(sink.got[0].anomalies & anomaly::kResponseIncomplete, 0u);
}

}  // namespace
}  // namespace offpath::http2

namespace offpath::http2 {
namespace {

// A connection whose dynamic tables are full of earlier fields: stream 1 asked and was
// answered in full before the cut; stream 3's request too, its response after.
struct Recorded {
  Bytes client_before, client_after, server_before, server_after;
};

Recorded recorded() {
  test::Deflater req;
  test::Deflater resp;
  auto request = [&](std::uint32_t id, const char* path) {
    return frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, id,
                 req.block({{":method", "GET"}, {":scheme", "http"}, {":path", path},
                            {":authority", "svc.local"}, {"user-agent", "t/1"}}));
  };
  auto response = [&](std::uint32_t id, const char* status) {
    return frame(FrameType::Headers, flag::kEndHeaders, id,
                 resp.block({{":status", status}, {"content-type", "text/plain"},
                             {"x-served-by", "b1"}}));
  };
  Recorded r;
  r.client_before = test::cat({test::preface(), test::settings({}), request(1, "/a"),
                               request(3, "/b")});
  r.server_before = test::cat({test::settings({{4, 65535}}), response(1, "200"),
                               frame(FrameType::Data, flag::kEndStream, 1, Bytes(40, 'x')),
                               response(3, "200"), frame(FrameType::Data, 0, 3, Bytes(40, 'y'))});
  r.client_after = test::cat({frame(FrameType::WindowUpdate, 0, 0, test::be32(1000)),
                              request(5, "/c"), request(7, "/d"),
                              frame(FrameType::Ping, 0, 0, str("pingpong"))});
  r.server_after = test::cat({frame(FrameType::Data, flag::kEndStream, 3, Bytes(30, 'z')),
                              response(5, "404"),
                              frame(FrameType::Data, flag::kEndStream, 5, str("nope")),
                              response(7, "200"),
                              frame(FrameType::Data, flag::kEndStream, 7, str("ok"))});
  return r;
}

const Exchange* by_uri(const std::vector<Exchange>& got, std::string_view uri) {
  for (const auto& ex : got) {
    if (ex.request && ex.request->uri == uri) return &ex;
  }
  return nullptr;
}

// Picked up mid-stream in both directions, a few bytes into a frame: frames are found
// from chained headers, stream 3 (its request before the cut) is a response-only
// exchange, the later streams are emitted with what HPACK could read without the
// dynamic table, every one marked mid_stream.
TEST_F(Http2SessionTest, PickedUpMidStreamEmitsWhatCanBeRead) {
  const Recorded r = recorded();
  session.pick_up(0);
  const std::size_t cut = 5;  // into the server's last frame before the cut, and the client's
  client(test::cat({Bytes(r.client_before.end() - cut, r.client_before.end()), r.client_after}));
  server(test::cat({Bytes(r.server_before.end() - cut, r.server_before.end()), r.server_after}));
  session.finish(Outcome::ConnectionClosed);
  ASSERT_EQ(sink.got.size(), 3u);
  const Exchange* three = nullptr;
  for (const auto& ex : sink.got) {
    EXPECT_NE(ex.anomalies & anomaly::kMidStream, 0u);
    if (!ex.request) three = &ex;
  }
  ASSERT_NE(three, nullptr);
  EXPECT_EQ(three->outcome, Outcome::OrphanResponse);
  EXPECT_TRUE(three->response->complete);
  EXPECT_EQ(three->response->status, 0);  // its HEADERS came before the cut
  EXPECT_EQ(three->response->body, "zzzzzzzzzzzzzzzz");  // what came after the cut
  // :path is never indexed (nghttp2): read; :authority and user-agent come from the
  // dynamic table: not read, hpack_desync.
  const Exchange* five = by_uri(sink.got, "/c");
  ASSERT_NE(five, nullptr);
  EXPECT_EQ(five->request->method, "GET");
  EXPECT_EQ(five->response->status, 404);
  EXPECT_EQ(five->response->body, "nope");
  EXPECT_EQ(five->outcome, Outcome::Complete);
  EXPECT_NE(five->anomalies & anomaly::kHpackDesync, 0u);
  EXPECT_EQ(five->request->header("host"), nullptr);
  ASSERT_NE(by_uri(sink.got, "/d"), nullptr);
  EXPECT_EQ(session.counters().resyncs, 2u);
  EXPECT_GE(session.counters().hpack_errors, 2u);
  EXPECT_EQ(session.counters().skipped_bytes, 2 * cut);
}

// A gap that swallows a request's HEADERS (and more) in the client direction: the
// reader finds the next frames, the stream whose request was lost is answered as a
// response-only exchange with gap, later streams are read with what HPACK can.
TEST_F(Http2SessionTest, GapLosingAHeaderBlockResynchronises) {
  const Recorded r = recorded();
  client(r.client_before);
  server(r.server_before);
  // The client's WINDOW_UPDATE and the first 6 bytes of request 5 are lost.
  session.on_gap(true, 13 + 6, Timestamp{5});
  client(Bytes(r.client_after.begin() + 19, r.client_after.end()));
  server(r.server_after);
  session.finish(Outcome::ConnectionClosed);
  ASSERT_EQ(sink.got.size(), 4u);
  EXPECT_EQ(session.counters().resyncs, 1u);
  const Exchange* one = by_uri(sink.got, "/a");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->anomalies, 0u);  // emitted before the gap
  const Exchange* three = by_uri(sink.got, "/b");
  ASSERT_NE(three, nullptr);
  EXPECT_EQ(three->outcome, Outcome::Complete);
  EXPECT_NE(three->anomalies & anomaly::kGap, 0u);  // open when the gap came
  int orphans = 0;
  for (const auto& ex : sink.got) {
    if (ex.request) continue;
    ++orphans;
    EXPECT_EQ(ex.outcome, Outcome::OrphanResponse);
    EXPECT_EQ(ex.response->status, 404);  // stream 5: its request was in the gap
    EXPECT_NE(ex.anomalies & anomaly::kGap, 0u);
  }
  EXPECT_EQ(orphans, 1);
  const Exchange* seven = by_uri(sink.got, "/d");
  ASSERT_NE(seven, nullptr);
  EXPECT_EQ(seven->response->status, 200);
  EXPECT_NE(seven->anomalies & anomaly::kHpackDesync, 0u);
  EXPECT_EQ(seven->anomalies & anomaly::kGap, 0u);
}

// A stream reset and emitted still gets the frames its peer had in flight: they do not
// make a second exchange of it, after a pick-up as before.
TEST_F(Http2SessionTest, FramesAfterAResetDoNotReopenAStreamAfterPickUp) {
  session.pick_up(0);
  client(test::cat({request(1, "/x"), frame(FrameType::RstStream, 0, 1, test::be32(8))}));
  server(test::cat({response(1, "200"), frame(FrameType::Data, flag::kEndStream, 1, str("late"))}));
  session.finish(Outcome::ConnectionClosed);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].outcome, Outcome::StreamReset);
}

}  // namespace
}  // namespace offpath::http2
