// Spool: order, restart, bounds, crash debris (torn tails, bad CRCs, foreign files).
#include "output/spool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace offpath {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/offpath-spool-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Spool> open(std::uint64_t max_bytes = 1 << 20, std::uint64_t segment = 4096) {
    SpoolOptions options;
    options.dir = dir_;
    options.max_bytes = max_bytes;
    options.segment_bytes = segment;
    auto spool = Spool::open(options);
    EXPECT_TRUE(spool.ok()) << (spool.ok() ? "" : spool.error().message);
    return spool.ok() ? std::move(*spool) : nullptr;
  }

  static std::string record(int i) {
    return "record-" + std::to_string(i) + "-" + std::string(static_cast<std::size_t>(i % 97), 'x');
  }

  // Reads (and acknowledges) everything unread.
  static std::vector<std::string> drain(Spool& spool, bool ack = true) {
    std::vector<std::string> out;
    std::string data;
    std::uint64_t ticket = 0;
    for (int guard = 0; guard < 100000 && spool.peek(data, ticket); ++guard) {
      EXPECT_EQ(spool.advance(), ticket);
      if (ack) spool.ack(ticket);
      out.push_back(data);
    }
    return out;
  }

  std::vector<fs::path> segments() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".seg") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
};

TEST_F(SpoolTest, ReadsBackInAppendOrderAcrossSegments) {
  auto spool = open();
  for (int i = 0; i < 500; ++i) ASSERT_EQ(spool->append(record(i)), SpoolAppend::Ok);
  EXPECT_GT(spool->stats().segments, 5u);
  EXPECT_EQ(spool->unread(), 500u);
  auto got = drain(*spool);
  ASSERT_EQ(got.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], record(i));
  EXPECT_EQ(spool->unread(), 0u);
  EXPECT_EQ(spool->unacked(), 0u);
  // Everything acknowledged: every segment is gone.
  EXPECT_EQ(spool->stats().segments, 0u);
  EXPECT_EQ(spool->stats().bytes, 0u);
  EXPECT_TRUE(segments().empty());
}

TEST_F(SpoolTest, InterleavedAppendAndReadKeepOrder) {
  auto spool = open();
  std::vector<std::string> got;
  int next = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7; ++i) ASSERT_EQ(spool->append(record(next++)), SpoolAppend::Ok);
    auto part = drain(*spool);
    got.insert(got.end(), part.begin(), part.end());
  }
  ASSERT_EQ(got.size(), 350u);
  for (int i = 0; i < 350; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], record(i));
}

TEST_F(SpoolTest, SegmentIsDeletedOnlyWhenEveryRecordIsAcknowledged) {
  auto spool = open(1 << 20, 1024);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(spool->append(std::string(100, 'a')), SpoolAppend::Ok);
  const auto before = spool->stats();
  std::vector<std::uint64_t> tickets;
  std::string data;
  std::uint64_t ticket = 0;
  while (spool->peek(data, ticket)) tickets.push_back(spool->advance());
  ASSERT_EQ(tickets.size(), 40u);
  // Acknowledge all but the first: nothing can be deleted yet.
  for (std::size_t i = 1; i < tickets.size(); ++i) spool->ack(tickets[i]);
  EXPECT_EQ(spool->stats().segments, before.segments);
  EXPECT_EQ(spool->unacked(), 1u);
  spool->ack(tickets[0]);
  EXPECT_EQ(spool->stats().segments, 0u);
  EXPECT_EQ(spool->stats().bytes, 0u);
  // Stale and unknown tickets are ignored.
  spool->ack(tickets[0]);
  spool->ack(123456789);
  EXPECT_EQ(spool->unacked(), 0u);
}

TEST_F(SpoolTest, SurvivesRestartAndResumesAfterAcknowledged) {
  {
    auto spool = open();
    for (int i = 0; i < 100; ++i) ASSERT_EQ(spool->append(record(i)), SpoolAppend::Ok);
    std::string data;
    std::uint64_t ticket = 0;
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(spool->peek(data, ticket));
      spool->ack(spool->advance());
    }
    // Taken but never acknowledged: read again after the restart.
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(spool->peek(data, ticket));
      (void)spool->advance();
    }
  }
  auto spool = open();
  EXPECT_EQ(spool->stats().recovered, 70u);
  EXPECT_EQ(spool->unread(), 70u);
  auto got = drain(*spool);
  ASSERT_EQ(got.size(), 70u);
  for (int i = 0; i < 70; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], record(30 + i));
  // New appends after a restart go behind the recovered ones.
  ASSERT_EQ(spool->append("after"), SpoolAppend::Ok);
  auto rest = drain(*spool);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0], "after");
}

TEST_F(SpoolTest, FullSpoolRefusesAndCountsThenMakesRoomAgain) {
  auto spool = open(16384, 4096);
  const std::string rec(500, 'r');
  int stored = 0;
  int refused = 0;
  for (int i = 0; i < 100; ++i) {
    SpoolAppend r = spool->append(rec);
    if (r == SpoolAppend::Ok) ++stored;
    if (r == SpoolAppend::Full) ++refused;
  }
  EXPECT_EQ(stored + refused, 100);
  EXPECT_GT(stored, 20);
  EXPECT_LT(stored, 33);  // 16 KiB / 508 bytes per record
  auto st = spool->stats();
  EXPECT_EQ(st.full, static_cast<std::uint64_t>(refused));
  EXPECT_LE(st.bytes, 16384u);
  EXPECT_EQ(st.unread, static_cast<std::uint64_t>(stored));
  // Reading and acknowledging frees whole segments: appends succeed again.
  EXPECT_EQ(drain(*spool).size(), static_cast<std::size_t>(stored));
  EXPECT_EQ(spool->append(rec), SpoolAppend::Ok);
}

TEST_F(SpoolTest, TornTailAfterCrashIsSkippedAndCounted) {
  {
    auto spool = open(1 << 20, 1 << 20);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(spool->append(record(i)), SpoolAppend::Ok);
  }
  auto segs = segments();
  ASSERT_EQ(segs.size(), 1u);
  auto size = fs::file_size(segs[0]);
  fs::resize_file(segs[0], size - 5);  // the last record loses its end
  auto spool = open(1 << 20, 1 << 20);
  auto st = spool->stats();
  EXPECT_EQ(st.recovered, 9u);
  EXPECT_EQ(st.corrupt_bytes, 8 + record(9).size() - 5);
  auto got = drain(*spool);
  ASSERT_EQ(got.size(), 9u);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], record(i));
  // The torn segment is deleted once read; new appends go to a fresh one.
  ASSERT_EQ(spool->append("fresh"), SpoolAppend::Ok);
  EXPECT_EQ(drain(*spool), std::vector<std::string>{"fresh"});
}

TEST_F(SpoolTest, ZeroFilledOrGarbageTailIsSkipped) {
  {
    auto spool = open(1 << 20, 1 << 20);
    for (int i = 0; i < 5; ++i) ASSERT_EQ(spool->append(record(i)), SpoolAppend::Ok);
  }
  auto segs = segments();
  ASSERT_EQ(segs.size(), 1u);
  {
    std::ofstream out(segs[0], std::ios::app | std::ios::binary);
    out << std::string(4096, '\0') << "\xff\xff\xff\x7fgarbage";
  }
  auto spool = open(1 << 20, 1 << 20);
  EXPECT_EQ(spool->stats().recovered, 5u);
  EXPECT_EQ(spool->stats().corrupt_bytes, 4096u + 11u);
  EXPECT_EQ(drain(*spool).size(), 5u);
}

TEST_F(SpoolTest, CrcMismatchSkipsOneRecord) {
  {
    auto spool = open(1 << 20, 1 << 20);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(spool->append(record(i)), SpoolAppend::Ok);
  }
  auto segs = segments();
  ASSERT_EQ(segs.size(), 1u);
  // Flip one byte inside the body of record 4.
  std::uint64_t off = 8;
  for (int i = 0; i < 4; ++i) off += 8 + record(i).size();
  {
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(off + 8 + 3));
    f.put('#');
  }
  auto spool = open(1 << 20, 1 << 20);
  EXPECT_EQ(spool->stats().recovered, 10u);
  auto got = drain(*spool);
  ASSERT_EQ(got.size(), 9u);
  EXPECT_EQ(got[3], record(3));
  EXPECT_EQ(got[4], record(5));
  auto st = spool->stats();
  EXPECT_EQ(st.corrupt_records, 1u);
  EXPECT_EQ(st.unread, 0u);
  EXPECT_EQ(st.segments, 0u);  // the skipped record does not pin its segment
}

TEST_F(SpoolTest, ForeignOrEmptySegmentFilesAreRemovedNotFatal) {
  {
    std::ofstream junk(dir_ + "/00000000000000000007.seg", std::ios::binary);
    junk << "this is not a spool segment at all";
    std::ofstream empty(dir_ + "/00000000000000000008.seg", std::ios::binary);
    std::ofstream other(dir_ + "/notes.txt");
    other << "left alone";
  }
  auto spool = open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->stats().recovered, 0u);
  EXPECT_EQ(spool->stats().corrupt_bytes, 34u);
  EXPECT_TRUE(fs::exists(dir_ + "/notes.txt"));
  ASSERT_EQ(spool->append("ok"), SpoolAppend::Ok);
  EXPECT_EQ(drain(*spool), std::vector<std::string>{"ok"});
}

TEST_F(SpoolTest, RewindMakesUnacknowledgedRecordsUnreadAgain) {
  auto spool = open();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(spool->append(record(i)), SpoolAppend::Ok);
  std::string data;
  std::uint64_t ticket = 0;
  std::vector<std::uint64_t> tickets;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(spool->peek(data, ticket));
    tickets.push_back(spool->advance());
  }
  spool->ack(tickets[0]);
  spool->ack(tickets[1]);
  spool->rewind();
  EXPECT_EQ(spool->unread(), 18u);
  EXPECT_EQ(spool->unacked(), 0u);
  spool->ack(tickets[2]);  // stale now: ignored
  auto got = drain(*spool);
  ASSERT_EQ(got.size(), 18u);
  EXPECT_EQ(got.front(), record(2));
  EXPECT_EQ(got.back(), record(19));
}

TEST_F(SpoolTest, PrependedRecordsComeFirstAlsoAfterRestart) {
  {
    auto spool = open();
    ASSERT_EQ(spool->append("c"), SpoolAppend::Ok);
    ASSERT_EQ(spool->append("d"), SpoolAppend::Ok);
    auto stored = spool->prepend({"a", "b"});
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(*stored, 2u);
    EXPECT_EQ(spool->unread(), 4u);
  }
  auto spool = open();
  EXPECT_EQ(spool->stats().recovered, 4u);
  EXPECT_EQ(drain(*spool), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(SpoolTest, PrependKeepsPartlyAcknowledgedSegmentCursor) {
  {
    auto spool = open();
    for (int i = 0; i < 6; ++i) ASSERT_EQ(spool->append(record(i)), SpoolAppend::Ok);
    std::string data;
    std::uint64_t ticket = 0;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(spool->peek(data, ticket));
      spool->ack(spool->advance());
    }
    ASSERT_TRUE(spool->peek(data, ticket));
    (void)spool->advance();  // in flight when we stop
    spool->rewind();
    ASSERT_TRUE(spool->prepend({"front"}).ok());
  }
  auto spool = open();
  auto got = drain(*spool);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0], "front");
  EXPECT_EQ(got[1], record(2));
  EXPECT_EQ(got[4], record(5));
}

TEST_F(SpoolTest, PrependIntoEmptySpoolAndBoundedBySize) {
  auto spool = open(8192, 4096);
  auto stored = spool->prepend({std::string(3000, 'a'), std::string(3000, 'b'),
                                std::string(3000, 'c')});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, 2u);  // the third does not fit in 8 KiB
  EXPECT_EQ(spool->unread(), 2u);
}

TEST_F(SpoolTest, SecondOpenOfTheSameDirectoryIsRefused) {
  auto first = open();
  SpoolOptions options;
  options.dir = dir_;
  auto second = Spool::open(options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
}

TEST(Crc32c, KnownVector) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
}

}  // namespace
}  // namespace offpath
