#include "http2/frame_sync.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "support/h2_builder.hpp"

namespace offpath::http2 {
namespace {

using test::Bytes;
using test::frame;

Bytes str(std::string_view s) { return test::bytes(s); }

// A server direction: SETTINGS, responses with bodies of every size class, PING.
Bytes server_stream(std::vector<std::size_t>& boundaries) {
  test::Deflater d;
  std::vector<Bytes> frames = {test::settings({{3, 100}, {4, 65535}}),
                               frame(FrameType::Settings, flag::kAck, 0, {}),
                               frame(FrameType::WindowUpdate, 0, 0, test::be32(1 << 20))};
  for (std::uint32_t id = 1; id <= 9; id += 2) {
    frames.push_back(frame(FrameType::Headers, flag::kEndHeaders, id,
                           d.block({{":status", "200"}, {"content-type", "text/plain"}})));
    frames.push_back(frame(FrameType::Data, 0, id, Bytes(id * 700, static_cast<std::uint8_t>('a' + id))));
    frames.push_back(frame(FrameType::Data, flag::kEndStream, id, str("end")));
    frames.push_back(frame(FrameType::Ping, 0, 0, str("pingpong")));
  }
  Bytes out;
  for (const auto& f : frames) {
    boundaries.push_back(out.size());
    test::append(out, f);
  }
  return out;
}

// Started at any byte, the search finds the first frame boundary at or after it.
TEST(Http2FrameSync, FindsTheNextBoundaryFromEveryOffset) {
  std::vector<std::size_t> boundaries;
  const Bytes s = server_stream(boundaries);
  const std::size_t last_two = boundaries[boundaries.size() - 2];
  for (std::size_t at = 0; at < s.size(); ++at) {
    const BoundarySearch r = find_frame_boundary(ByteView(s).subspan(at), false);
    if (at > last_two) {  // only the last frame is left: no evidence
      EXPECT_FALSE(r.found) << "from " << at;
      continue;
    }
    const auto next = *std::lower_bound(boundaries.begin(), boundaries.end(), at);
    ASSERT_TRUE(r.found) << "from " << at;
    ASSERT_EQ(at + r.keep_from, next) << "from " << at;
  }
}

TEST(Http2FrameSync, TwoFramesEndingWithTheBytesAreEnoughThreeOtherwise) {
  Bytes two = test::cat({frame(FrameType::WindowUpdate, 0, 0, test::be32(10)),
                         frame(FrameType::WindowUpdate, 0, 1, test::be32(10))});
  EXPECT_EQ(check_chain(two, 0, true), ChainCheck::Confirmed);
  Bytes more = test::cat({two, Bytes{0, 0}});  // a third header begun: wait for it
  EXPECT_EQ(check_chain(more, 0, true), ChainCheck::Undecided);
  Bytes one = frame(FrameType::WindowUpdate, 0, 0, test::be32(10));
  EXPECT_EQ(check_chain(one, 0, true), ChainCheck::Undecided);
}

TEST(Http2FrameSync, HeaderRulesPerTypeAndDirection) {
  auto ok = [](const Bytes& f, bool client) { return plausible_frame_header(f.data(), client); };
  EXPECT_TRUE(ok(frame(FrameType::Headers, flag::kEndHeaders, 1, str("x")), true));
  EXPECT_FALSE(ok(frame(FrameType::Headers, flag::kEndHeaders, 2, str("x")), true));  // parity
  EXPECT_FALSE(ok(frame(FrameType::Data, 0, 2, str("x")), false));  // pushed: no evidence
  EXPECT_FALSE(ok(frame(FrameType::Data, 0, 1, {}), false));         // empty, not the end
  EXPECT_TRUE(ok(frame(FrameType::Data, flag::kEndStream, 1, {}), false));
  EXPECT_FALSE(ok(frame(FrameType::Headers, flag::kEndHeaders, 1, {}), false));
  EXPECT_FALSE(ok(frame(FrameType::Settings, 0, 0, {}), false));
  EXPECT_TRUE(ok(frame(FrameType::Settings, flag::kAck, 0, {}), false));
  EXPECT_FALSE(ok(frame(FrameType::PushPromise, flag::kEndHeaders, 1, Bytes(8, 0)), true));
  EXPECT_TRUE(ok(frame(FrameType::PushPromise, flag::kEndHeaders, 1, Bytes(8, 0)), false));
  EXPECT_FALSE(ok(frame(FrameType::Data, 0x2, 1, str("x")), true));        // undefined flag
  EXPECT_FALSE(ok(frame(FrameType::Settings, 0, 0, Bytes(7, 0)), true));   // not 6 * n
  EXPECT_FALSE(ok(frame(FrameType::Settings, 0, 1, Bytes(6, 0)), true));   // not stream 0
  EXPECT_FALSE(ok(frame(FrameType::Ping, 0, 0, Bytes(7, 0)), true));
  EXPECT_FALSE(ok(frame(FrameType::RstStream, 0, 0, Bytes(4, 0)), true));
  EXPECT_FALSE(ok(frame(FrameType::GoAway, 0, 0, Bytes(4, 0)), true));
  EXPECT_FALSE(ok(frame(static_cast<FrameType>(0xa), 0, 0, Bytes(4, 0)), true));  // unknown
  EXPECT_FALSE(ok(frame(FrameType::Data, 0, 1, Bytes(kSyncMaxFrameLength + 1, 0)), false));
  Bytes reserved = frame(FrameType::WindowUpdate, 0, 1, test::be32(1));
  reserved[5] |= 0x80;
  EXPECT_FALSE(ok(reserved, true));
}

TEST(Http2FrameSync, ContinuationOnlyWhereAHeaderBlockIsOpen) {
  Bytes open = frame(FrameType::Headers, 0, 1, str("ab"));
  Bytes cont = frame(FrameType::Continuation, flag::kEndHeaders, 1, str("cd"));
  Bytes ping = frame(FrameType::Ping, 0, 0, str("12345678"));
  EXPECT_EQ(check_chain(test::cat({open, cont, ping}), 0, true), ChainCheck::Confirmed);
  EXPECT_EQ(check_chain(test::cat({open, ping, ping}), 0, true), ChainCheck::Rejected);
  EXPECT_EQ(check_chain(test::cat({ping, cont, ping}), 0, true), ChainCheck::Rejected);
  Bytes other = frame(FrameType::Continuation, flag::kEndHeaders, 3, str("cd"));
  EXPECT_EQ(check_chain(test::cat({open, other, ping}), 0, true), ChainCheck::Rejected);
  // Picked up inside a block: a CONTINUATION may come first.
  EXPECT_EQ(check_chain(test::cat({cont, ping, ping}), 0, true), ChainCheck::Confirmed);
}

// Negatives: bytes that are not HTTP/2 must never pass, in either direction, from any
// offset, whether fed whole or in segment-sized pieces.
void expect_never_found(const Bytes& b, const char* what) {
  for (bool client : {true, false}) {
    for (std::size_t seg : {b.size(), std::size_t{1460}, std::size_t{536}}) {
      for (std::size_t at = 0; at < b.size(); at += seg) {
        const auto piece = ByteView(b).subspan(at, std::min(seg, b.size() - at));
        EXPECT_FALSE(find_frame_boundary(piece, client).found) << what << " at " << at;
      }
    }
  }
}

TEST(Http2FrameSync, Http1TextIsNeverFrames) {
  std::string t;
  for (int i = 0; i < 200; ++i) {
    t += "GET /api/items?page=" + std::to_string(i) +
         " HTTP/1.1\r\nHost: svc\r\nUser-Agent: curl/7.88\r\nAccept: */*\r\n\r\n"
         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
         "\r\n1a\r\n{\"id\":" + std::to_string(i) + ",\t\"tab\":true}\r\n0\r\n\r\n";
  }
  expect_never_found(str(t), "HTTP/1.1 text");
}

TEST(Http2FrameSync, TlsRecordsAreNeverFrames) {
  std::mt19937 rng(7);
  Bytes b;
  for (int i = 0; i < 300; ++i) {
    const std::size_t n = 16 + rng() % 16384;
    test::append(b, Bytes{0x17, 0x03, 0x03, static_cast<std::uint8_t>(n >> 8),
                          static_cast<std::uint8_t>(n)});
    for (std::size_t k = 0; k < n; ++k) b.push_back(static_cast<std::uint8_t>(rng()));
  }
  expect_never_found(b, "TLS application data");
}

TEST(Http2FrameSync, RandomAndZeroBytesAreNeverFrames) {
  std::mt19937 rng(11);
  Bytes b(4 << 20);
  for (auto& c : b) c = static_cast<std::uint8_t>(rng());
  expect_never_found(b, "random bytes");
  // Mostly-zero binary (sparse files, protobuf defaults) with a few small values.
  Bytes z(1 << 20, 0);
  for (std::size_t i = 0; i < z.size(); i += 1 + rng() % 64) z[i] = static_cast<std::uint8_t>(rng() % 10);
  expect_never_found(z, "sparse bytes");
}

}  // namespace
}  // namespace offpath::http2

namespace offpath::http2 {
namespace {

// Who sent frames picked up mid-stream, when the ports cannot tell.
TEST(Http2FrameSync, SenderFromPrefaceHeaderBlocksAndPushPromise) {
  test::Deflater d;
  const Bytes ping = test::frame(FrameType::Ping, 0, 0, test::bytes("12345678"));
  const Bytes request = test::frame(FrameType::Headers, flag::kEndHeaders, 5,
                                    d.block({{":method", "GET"}, {":path", "/"}}));
  const Bytes response = test::frame(FrameType::Headers, flag::kEndHeaders | flag::kPriority, 5,
                                     test::cat({Bytes{0, 0, 0, 0, 16}, Bytes{0x88}}));
  EXPECT_EQ(frames_sender(test::cat({ping, request}), 0), Sender::Client);
  EXPECT_EQ(frames_sender(test::cat({ping, response}), 0), Sender::Server);
  EXPECT_EQ(frames_sender(test::cat({test::preface(), ping, ping}), kClientPreface.size()),
            Sender::Client);
  EXPECT_EQ(frames_sender(test::cat({ping, ping}), 0), Sender::Unknown);
  // A table size update first, then :status 404 (static index 13).
  const Bytes resized = test::frame(FrameType::Headers, flag::kEndHeaders, 1, Bytes{0x3f, 0xe1, 0x1f, 0x8d});
  EXPECT_EQ(frames_sender(resized, 0), Sender::Server);
  // A field of the dynamic table says nothing.
  EXPECT_EQ(frames_sender(test::frame(FrameType::Headers, flag::kEndHeaders, 1, Bytes{0xbe}), 0),
            Sender::Unknown);
  EXPECT_EQ(frames_sender(test::frame(FrameType::PushPromise, flag::kEndHeaders, 1,
                                      Bytes{0, 0, 0, 2, 0x82}),
                          0),
            Sender::Server);
}

}  // namespace
}  // namespace offpath::http2
