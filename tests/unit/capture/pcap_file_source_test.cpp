// PcapFileSource: the in-place reader must hand out exactly the frames libpcap's reader
// does (time, wire length, bytes, order, the truncation flag) on every bundled capture,
// in both byte orders, with nanosecond timestamps, with a filter, and on files it has to
// hand over to libpcap part way (a record longer than the snap length, a record or a
// record header cut short by the end of the file).
#include "capture/pcap_file_source.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace offpath {
namespace {

struct Seen {
  std::int64_t ts;
  std::uint32_t wire_len;
  std::vector<std::uint8_t> bytes;
  bool operator==(const Seen&) const = default;
};

class Recorder final : public FrameHandler {
 public:
  void on_frame(const Frame& f) override {
    frames.push_back({f.ts.micros, f.wire_len, {f.bytes.begin(), f.bytes.end()}});
  }
  std::vector<Seen> frames;
};

struct Read {
  std::vector<Seen> frames;
  SourceStats stats;
  bool in_place = false;
};

Read read(const std::string& path, bool in_place, const std::string& filter = {}) {
  auto source = PcapFileSource::open(path, filter, in_place);
  EXPECT_TRUE(source.ok()) << path;
  Read r;
  if (!source) return r;
  Recorder rec;
  std::atomic<bool> stop{false};
  EXPECT_TRUE((*source)->run(rec, stop).ok());
  r.frames = std::move(rec.frames);
  r.stats = (*source)->stats();
  r.in_place = (*source)->reads_in_place();
  return r;
}

std::string slurp(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

std::string temp_file(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + "offpath-pcap-" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::uint32_t get32(const std::string& s, std::size_t at) {
  std::uint32_t v;
  std::memcpy(&v, s.data() + at, sizeof v);
  return v;
}
void put32(std::string& s, std::size_t at, std::uint32_t v) { std::memcpy(s.data() + at, &v, sizeof v); }
void put16(std::string& s, std::size_t at, std::uint16_t v) { std::memcpy(s.data() + at, &v, sizeof v); }

// Rewrites a little-endian microsecond capture: nanosecond fractions and/or big-endian.
std::string converted(const std::string& le_micro, bool nanos, bool big_endian) {
  std::string s = le_micro;
  auto swap_if = [&](std::uint32_t v) { return big_endian ? __builtin_bswap32(v) : v; };
  put32(s, 0, swap_if(nanos ? 0xa1b23c4d : 0xa1b2c3d4));
  if (big_endian) {
    put16(s, 4, __builtin_bswap16(2));
    put16(s, 6, __builtin_bswap16(4));
    for (std::size_t at = 8; at < 24; at += 4) put32(s, at, __builtin_bswap32(get32(s, at)));
  }
  for (std::size_t at = 24; at + 16 <= s.size();) {
    const std::uint32_t caplen = get32(le_micro, at + 8);
    const std::uint32_t frac = get32(le_micro, at + 4);
    put32(s, at + 4, swap_if(nanos ? frac * 1000 + 999 : frac));  // ns: rounds down to us
    for (std::size_t f : {0u, 8u, 12u}) put32(s, at + f, swap_if(get32(le_micro, at + f)));
    at += 16 + caplen;
  }
  return s;
}

std::vector<std::string> bundled_captures() {
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::directory_iterator(OFFPATH_PCAPS)) {
    if (e.path().extension() == ".pcap") paths.push_back(e.path().string());
  }
  return paths;
}

TEST(PcapFileSource, InPlaceReadsEveryBundledCaptureAsLibpcapDoes) {
  const auto paths = bundled_captures();
  ASSERT_GT(paths.size(), 20u);
  for (const auto& path : paths) {
    const Read fast = read(path, true);
    const Read slow = read(path, false);
    EXPECT_TRUE(fast.in_place) << path;
    EXPECT_FALSE(slow.in_place) << path;
    ASSERT_FALSE(slow.frames.empty()) << path;
    EXPECT_EQ(fast.frames, slow.frames) << path;
    EXPECT_EQ(fast.stats.frames, slow.stats.frames) << path;
    EXPECT_EQ(fast.stats.bytes, slow.stats.bytes) << path;
    EXPECT_EQ(fast.stats.truncated, slow.stats.truncated) << path;
    EXPECT_EQ(fast.stats.input_bytes_read, fast.stats.input_bytes_total) << path;
  }
}

// Files of several read blocks: records and record headers straddle the block ends at
// every offset the shifts give (the in-place reader carries the unread tail over).
TEST(PcapFileSource, RecordsAcrossReadBlocksReadAsLibpcapDoes) {
  const std::string big = slurp(OFFPATH_PCAPS "/long-headers.pcap");
  const std::string small = slurp(OFFPATH_PCAPS "/connect-refused.pcap");
  ASSERT_GT(big.size(), 24u + 16u);
  ASSERT_GT(small.size(), 24u + 16u);
  const std::string records = big.substr(24);
  const std::string first_record = small.substr(24, 16 + get32(small, 24 + 8));
  for (int shift = 0; shift < 6; ++shift) {
    std::string bytes = big.substr(0, 24);
    for (int i = 0; i < shift; ++i) bytes += first_record;
    while (bytes.size() < 3 * PcapFileSource::kReadBufferSize + 200000) bytes += records;
    const std::string path = temp_file("blocks-" + std::to_string(shift) + ".pcap", bytes);
    const Read fast = read(path, true);
    const Read slow = read(path, false);
    EXPECT_TRUE(fast.in_place);
    ASSERT_GT(slow.frames.size(), 1000u);
    EXPECT_EQ(fast.frames, slow.frames) << "shift " << shift;
    EXPECT_EQ(fast.stats.input_bytes_read, bytes.size()) << "shift " << shift;
  }
}

TEST(PcapFileSource, ByteOrderAndNanosecondsGiveTheSameFrames) {
  const std::string original = OFFPATH_PCAPS "/nginx-502.pcap";
  const std::vector<Seen> want = read(original, false).frames;
  ASSERT_FALSE(want.empty());
  const std::string bytes = slurp(original);
  for (bool nanos : {false, true}) {
    for (bool big : {false, true}) {
      const std::string name = std::string(nanos ? "ns" : "us") + (big ? "-be" : "-le") + ".pcap";
      const std::string path = temp_file(name, converted(bytes, nanos, big));
      const Read fast = read(path, true);
      EXPECT_TRUE(fast.in_place) << name;
      EXPECT_EQ(fast.frames, want) << name;
      EXPECT_EQ(read(path, false).frames, want) << name;
    }
  }
}

TEST(PcapFileSource, FilterAppliesInPlace) {
  const std::string path = OFFPATH_PCAPS "/nginx-502.pcap";
  const Read fast = read(path, true, "tcp[tcpflags] & tcp-syn != 0");
  const Read slow = read(path, false, "tcp[tcpflags] & tcp-syn != 0");
  EXPECT_TRUE(fast.in_place);
  EXPECT_EQ(fast.frames, slow.frames);
  EXPECT_GT(fast.frames.size(), 0u);
  EXPECT_LT(fast.frames.size(), read(path, true).frames.size());
  EXPECT_EQ(fast.stats.frames, fast.frames.size());
}

TEST(PcapFileSource, HandsOverToLibpcapAtOddRecords) {
  const std::string original = OFFPATH_PCAPS "/nginx-502.pcap";
  const std::string bytes = slurp(original);
  const std::uint32_t first_caplen = get32(bytes, 24 + 8);
  const std::size_t second = 24 + 16 + first_caplen;
  const std::uint32_t second_caplen = get32(bytes, second + 8);
  ASSERT_GT(second_caplen, 20u);

  std::vector<std::pair<std::string, std::string>> cases;
  // The snap length lowered below the second record: libpcap cuts it, and the rest.
  std::string small_snap = bytes;
  put32(small_snap, 16, second_caplen - 10);
  cases.emplace_back("small-snaplen.pcap", small_snap);
  // Cut inside the last record's data, and inside the last record's header.
  cases.emplace_back("cut-in-data.pcap", bytes.substr(0, bytes.size() - 5));
  std::size_t last = 24;
  for (std::size_t at = 24; at < bytes.size(); at += 16 + get32(bytes, at + 8)) last = at;
  cases.emplace_back("cut-in-header.pcap", bytes.substr(0, last + 7));
  // A record announcing more bytes than any capture may hold.
  std::string bogus = bytes;
  put32(bogus, second + 8, 0x7fffffff);
  cases.emplace_back("bogus-caplen.pcap", bogus);

  for (const auto& [name, content] : cases) {
    const std::string path = temp_file(name, content);
    const Read fast = read(path, true);
    const Read slow = read(path, false);
    EXPECT_TRUE(fast.in_place) << name;
    EXPECT_EQ(fast.frames, slow.frames) << name;
    EXPECT_EQ(fast.stats.truncated, slow.stats.truncated) << name;
    EXPECT_EQ(fast.stats.frames, slow.stats.frames) << name;
  }
  EXPECT_EQ(read(temp_file("cut-in-data.pcap", cases[1].second), true).stats.truncated, 1u);
  EXPECT_EQ(read(temp_file("small-snaplen.pcap", small_snap), true).frames[1].bytes.size(),
            second_caplen - 10);
}

// Random damage to a real capture (bytes of the headers changed, the file cut anywhere):
// both readers open the same files and give the same frames and the same counters.
TEST(PcapFileSource, DamagedFilesReadTheSameBothWays) {
  const std::string bytes = slurp(OFFPATH_PCAPS "/keepalive-get.pcap");
  ASSERT_GT(bytes.size(), 1000u);
  std::vector<std::size_t> headers;  // offsets of the record headers
  for (std::size_t at = 24; at + 16 <= bytes.size(); at += 16 + get32(bytes, at + 8)) {
    headers.push_back(at);
  }
  std::uint64_t state = 12345;
  auto next = [&](std::uint64_t below) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % below;
  };
  int in_place_runs = 0;
  for (int round = 0; round < 300; ++round) {
    std::string damaged = bytes;
    for (std::uint64_t k = 0, n = 1 + next(3); k < n; ++k) {
      const std::size_t at = next(4) == 0 ? next(24) : headers[next(headers.size())] + next(16);
      damaged[at] = static_cast<char>(next(256));
    }
    if (next(2) == 0) damaged.resize(next(damaged.size()));
    const std::string path = temp_file("damaged.pcap", damaged);
    auto fast = PcapFileSource::open(path, {}, true);
    auto slow = PcapFileSource::open(path, {}, false);
    ASSERT_EQ(fast.ok(), slow.ok()) << round;
    if (!fast.ok()) continue;
    const Read a = read(path, true);
    const Read b = read(path, false);
    in_place_runs += a.in_place ? 1 : 0;
    EXPECT_EQ(a.frames, b.frames) << round;
    EXPECT_EQ(a.stats.frames, b.stats.frames) << round;
    EXPECT_EQ(a.stats.truncated, b.stats.truncated) << round;
  }
  EXPECT_GT(in_place_runs, 150);
}

// The same frames as a little-endian microsecond capture, written as pcapng: a section
// header, one interface (its link type and snap length, default microsecond resolution)
// and an enhanced packet block per record.
std::string as_pcapng(const std::string& le_micro) {
  std::string out;
  auto u32 = [&out](std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  auto u16 = [&out](std::uint16_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  u32(0x0A0D0D0A), u32(28), u32(0x1A2B3C4D), u16(1), u16(0), u32(0xffffffff), u32(0xffffffff), u32(28);
  u32(1), u32(20), u16(static_cast<std::uint16_t>(get32(le_micro, 20))), u16(0), u32(get32(le_micro, 16)),
      u32(20);
  for (std::size_t at = 24; at + 16 <= le_micro.size();) {
    const std::uint32_t caplen = get32(le_micro, at + 8);
    const std::uint64_t micros = std::uint64_t{get32(le_micro, at)} * 1000000 + get32(le_micro, at + 4);
    const std::uint32_t padded = (caplen + 3) & ~3u;
    u32(6), u32(32 + padded), u32(0), u32(static_cast<std::uint32_t>(micros >> 32)),
        u32(static_cast<std::uint32_t>(micros)), u32(caplen), u32(get32(le_micro, at + 12));
    out.append(le_micro, at + 16, caplen);
    out.append(padded - caplen, '\0');
    u32(32 + padded);
    at += 16 + caplen;
  }
  return out;
}

// pcapng is not the in-place reader's format: libpcap reads it, frame for frame the same
// as the pcap the frames came from.
TEST(PcapFileSource, PcapngStaysWithLibpcap) {
  const std::string pcap = slurp(OFFPATH_PCAPS "/long-headers.pcap");
  ASSERT_EQ(get32(pcap, 0), 0xa1b2c3d4u);
  const Read expected = read(OFFPATH_PCAPS "/long-headers.pcap", false);
  ASSERT_GT(expected.frames.size(), 5u);
  const Read r = read(temp_file("converted.pcapng", as_pcapng(pcap)), true);
  EXPECT_FALSE(r.in_place);
  EXPECT_EQ(r.frames, expected.frames);
}

#ifdef OFFPATH_SHARED_PCAPS
// A pcapng written by real capture software, from the public corpus (where it exists).
TEST(PcapFileSource, PublicPcapngStaysWithLibpcap) {
  for (const auto& e : std::filesystem::directory_iterator(OFFPATH_SHARED_PCAPS)) {
    if (e.path().extension() != ".pcapng") continue;
    const Read r = read(e.path().string(), true);
    EXPECT_FALSE(r.in_place) << e.path();
    EXPECT_FALSE(r.frames.empty()) << e.path();
    return;
  }
  GTEST_FAIL() << "no pcapng capture in " OFFPATH_SHARED_PCAPS;
}
#endif

}  // namespace
}  // namespace offpath
