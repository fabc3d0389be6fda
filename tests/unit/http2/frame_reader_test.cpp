#include "http2/frame_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http2/frame_sync.hpp"
#include "support/h2_builder.hpp"

namespace offpath::http2 {
namespace {

using test::Bytes;

struct Seen {
  std::uint8_t type;
  std::uint8_t flags;
  std::uint32_t stream;
  std::string payload;
  std::uint32_t length;
  std::uint32_t data_bytes;
  bool truncated;
};

class Collect : public FrameSink {
 public:
  void on_frame(const Frame& f) override {
    frames.push_back({f.type, f.flags, f.stream_id, std::string(as_chars(f.payload)), f.length,
                      f.data_bytes, f.truncated});
  }
  std::vector<Seen> frames;
};

Bytes str(std::string_view s) { return test::bytes(s); }

TEST(Http2FrameReader, SkipsPrefaceAndReadsManyFramesInOneSegment) {
  Bytes b = test::cat({test::preface(), test::settings({{1, 8192}}),
                       test::frame(FrameType::Data, 0, 1, str("hello")),
                       test::frame(FrameType::Ping, 0, 0, str("12345678"))});
  FrameReader r(true, 1024);
  Collect c;
  r.feed(b, Timestamp{1}, c);
  ASSERT_EQ(c.frames.size(), 3u);
  EXPECT_EQ(c.frames[0].type, static_cast<std::uint8_t>(FrameType::Settings));
  EXPECT_EQ(c.frames[1].payload, "hello");
  EXPECT_EQ(c.frames[1].stream, 1u);
  EXPECT_EQ(c.frames[1].data_bytes, 5u);
  EXPECT_EQ(c.frames[2].payload, "12345678");
  EXPECT_EQ(r.state(), ReaderState::Frames);
}

TEST(Http2FrameReader, FramesSplitAcrossSegmentsAtEveryByte) {
  Bytes b = test::cat({test::preface(), test::frame(FrameType::Data, 1, 3, str("abcdef")),
                       test::frame(FrameType::WindowUpdate, 0, 0, test::be32(100))});
  FrameReader r(true, 1024);
  Collect c;
  for (std::size_t i = 0; i < b.size(); ++i) r.feed(ByteView(&b[i], 1), Timestamp{1}, c);
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[0].payload, "abcdef");
  EXPECT_EQ(c.frames[0].flags, flag::kEndStream);
  EXPECT_EQ(c.frames[0].stream, 3u);
  EXPECT_EQ(c.frames[1].type, static_cast<std::uint8_t>(FrameType::WindowUpdate));
}

TEST(Http2FrameReader, RemovesPaddingAndPriorityFields) {
  using namespace std::string_view_literals;
  Bytes data = test::bytes("\x03" "body" "\0\0\0"sv);              // pad length 3
  Bytes headers = test::bytes("\x02\0\0\0\x01\x10" "blk" "\0\0"sv);  // pad 2, dependency, weight
  Bytes b = test::cat(
      {test::frame(FrameType::Data, flag::kPadded, 1, data),
       test::frame(FrameType::Headers, flag::kPadded | flag::kPriority | flag::kEndHeaders, 5,
                   headers)});
  FrameReader r(false, 1024);
  Collect c;
  r.feed(b, Timestamp{1}, c);
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[0].payload, "body");
  EXPECT_EQ(c.frames[0].data_bytes, 4u);
  EXPECT_EQ(c.frames[0].length, 8u);
  EXPECT_EQ(c.frames[1].payload, "blk");
}

TEST(Http2FrameReader, PaddingLongerThanFrameSearchesTheNextBoundary) {
  Bytes data = test::bytes("\x09x");
  Bytes b = test::cat({test::frame(FrameType::Data, flag::kPadded, 1, data),
                       test::frame(FrameType::Data, 0, 1, str("later"))});
  FrameReader r(false, 1024);
  Collect c;
  r.feed(b, Timestamp{1}, c);
  EXPECT_TRUE(c.frames.empty());
  EXPECT_EQ(r.state(), ReaderState::Sync);  // one frame after it: not enough evidence
  EXPECT_EQ(r.malformed_frames(), 1u);
  r.feed(test::cat({test::frame(FrameType::WindowUpdate, 0, 0, test::be32(9)),
                    test::frame(FrameType::Data, flag::kEndStream, 1, str("end"))}),
         Timestamp{2}, c);
  ASSERT_EQ(c.frames.size(), 3u);
  EXPECT_EQ(c.frames[0].payload, "later");
  EXPECT_EQ(c.frames[2].payload, "end");
  EXPECT_EQ(r.state(), ReaderState::Frames);
  EXPECT_EQ(r.resyncs(), 1u);
}

TEST(Http2FrameReader, HugeFrameIsBoundedAndTruncated) {
  Bytes big(100000, 'z');
  Bytes b = test::cat({test::frame(FrameType::Data, 0, 1, big),
                       test::frame(FrameType::Data, 1, 1, str("end"))});
  FrameReader r(false, 4096);
  Collect c;
  for (std::size_t off = 0; off < b.size(); off += 1460) {
    r.feed(ByteView(b).subspan(off, std::min<std::size_t>(1460, b.size() - off)), Timestamp{1}, c);
  }
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_TRUE(c.frames[0].truncated);
  EXPECT_EQ(c.frames[0].payload.size(), 4096u);
  EXPECT_EQ(c.frames[0].data_bytes, 100000u);
  EXPECT_EQ(c.frames[1].payload, "end");
  EXPECT_LE(r.heap_bytes(), 2 * 4096 + 64);
  EXPECT_EQ(r.oversized_frames(), 1u);
}

// DATA payloads are kept only as far as a body is kept; other frames up to max_payload.
TEST(Http2FrameReader, DataPayloadIsBufferedOnlyUpToTheDataLimit) {
  Bytes padded = test::cat({Bytes{3}, Bytes(2000, 'd'), Bytes(3, 0)});  // pad length 3
  Bytes b = test::cat({test::frame(FrameType::Data, flag::kPadded, 1, padded),
                       test::frame(FrameType::Data, 0, 1, str("abc")),
                       test::frame(FrameType::Ping, 0, 0, Bytes(2000, 'p'))});
  FrameReader r(false, 4096);
  r.set_max_data_payload(11);
  Collect c;
  r.feed(b, Timestamp{1}, c);
  ASSERT_EQ(c.frames.size(), 3u);
  EXPECT_EQ(c.frames[0].payload, std::string(10, 'd'));  // after the pad-length byte
  EXPECT_EQ(c.frames[0].data_bytes, 2000u);
  EXPECT_TRUE(c.frames[0].truncated);
  EXPECT_EQ(c.frames[1].payload, "abc");
  EXPECT_FALSE(c.frames[1].truncated);
  EXPECT_EQ(c.frames[2].payload.size(), 2000u);  // not DATA: the frame limit
  EXPECT_EQ(r.oversized_frames(), 0u);
}

TEST(Http2FrameReader, BadPrefaceLosesFraming) {
  FrameReader r(true, 1024);
  Collect c;
  Bytes b = str("GET / HTTP/1.1\r\n\r\n");
  r.feed(b, Timestamp{1}, c);
  EXPECT_EQ(r.state(), ReaderState::Lost);
  EXPECT_EQ(r.skipped_bytes(), b.size());
  r.feed(test::frame(FrameType::Data, 0, 1, str("abc")), Timestamp{2}, c);
  EXPECT_TRUE(c.frames.empty());
}

// A gap in a frame header: the frames after it are found again once chained frames show
// where they begin; the bytes of the cut frame, the gap and the rest of the frame the
// gap ended in are skipped, and counted.
TEST(Http2FrameReader, GapOutsideDataResynchronisesOnChainedFrames) {
  FrameReader g(false, 1024);
  Collect c;
  Bytes cut = test::frame(FrameType::Headers, flag::kEndHeaders, 1, str("abcdefgh"));
  Bytes after = test::cat({test::frame(FrameType::Data, 0, 1, str("one")),
                           test::frame(FrameType::Data, 0, 1, str("two")),
                           test::frame(FrameType::Data, flag::kEndStream, 1, str("three"))});
  g.feed(ByteView(cut).first(5), Timestamp{1}, c);
  EXPECT_FALSE(g.on_gap(10, Timestamp{2}, c));
  EXPECT_EQ(g.state(), ReaderState::Sync);
  // The stream goes on 7 bytes into the cut frame's payload (5 + 10 = 15 = 9 + 6).
  Bytes rest = test::cat({Bytes(cut.begin() + 15, cut.end()), after});
  for (std::size_t i = 0; i < rest.size(); i += 4) {  // small deliveries: the search waits
    g.feed(ByteView(rest).subspan(i, std::min<std::size_t>(4, rest.size() - i)), Timestamp{3}, c);
  }
  ASSERT_EQ(c.frames.size(), 3u);
  EXPECT_EQ(c.frames[0].payload, "one");
  EXPECT_EQ(c.frames[2].payload, "three");
  EXPECT_EQ(g.resyncs(), 1u);
  EXPECT_EQ(g.skipped_bytes(), 5u + 10u + (cut.size() - 15));
}

TEST(Http2FrameReader, PickedUpMidFrameFindsTheFirstWholeFrame) {
  // A DATA frame of 100 bytes whose payload holds a fake PING (and, 1 byte into it, what
  // reads as the header of a DATA frame of 2054 bytes), then real frames.
  Bytes payload(100, 'p');
  Bytes fake = test::frame(FrameType::Ping, 0, 0, str("12345678"));
  std::copy(fake.begin(), fake.end(), payload.begin() + 40);
  Bytes b = test::cat({test::frame(FrameType::Data, 0, 1, payload),
                       test::frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, 1,
                                   str("\x88")),
                       test::frame(FrameType::RstStream, 0, 3, test::be32(8))});
  FrameReader r(false, 1024);
  r.start_sync();
  Collect c;
  r.feed(ByteView(b).subspan(30), Timestamp{1}, c);  // picked up inside the payload
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[0].type, static_cast<std::uint8_t>(FrameType::Headers));
  EXPECT_EQ(c.frames[1].type, static_cast<std::uint8_t>(FrameType::RstStream));
  EXPECT_EQ(r.skipped_bytes(), 9u + 100u - 30u);
}

// A gap while searching: frames cannot chain across it, what was held is given up.
TEST(Http2FrameReader, GapWhileSearchingDropsWhatWasHeld) {
  FrameReader r(false, 1024);
  r.start_sync();
  Collect c;
  // What reads as the header of a 100-byte DATA frame: undecided, held.
  const Bytes held = test::frame(FrameType::Data, 0, 1, Bytes(20, 'a'));
  Bytes undecided(held.begin(), held.end());
  undecided[2] = 100;
  r.feed(undecided, Timestamp{1}, c);
  EXPECT_EQ(r.skipped_bytes(), 0u);
  EXPECT_GT(r.heap_bytes(), 0);
  EXPECT_FALSE(r.on_gap(50, Timestamp{2}, c));
  EXPECT_EQ(r.skipped_bytes(), undecided.size() + 50);
  r.feed(test::cat({test::frame(FrameType::Ping, 0, 0, str("12345678")),
                    test::frame(FrameType::Data, flag::kEndStream, 1, str("x"))}),
         Timestamp{3}, c);
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[1].payload, "x");
}

// The search holds at most kSyncWindow bytes, whatever it is fed.
TEST(Http2FrameReader, SearchIsBounded) {
  FrameReader r(true, 1024);
  r.start_sync();
  Collect c;
  Bytes junk(1 << 20, 0xff);
  r.feed(junk, Timestamp{1}, c);
  EXPECT_TRUE(c.frames.empty());
  EXPECT_LE(r.heap_bytes(), static_cast<std::int64_t>(kSyncWindow) * 2);
  EXPECT_GE(r.skipped_bytes(), junk.size() - kFrameHeaderSize);
}

}  // namespace
}  // namespace offpath::http2
