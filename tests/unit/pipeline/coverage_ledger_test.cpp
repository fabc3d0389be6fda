// Coverage ledger: the interval arithmetic (deltas, levels, gauges, boundaries), the JSON
// record, and a ledger in front of a real pipeline and FileSink, whose records must sit
// between the exchange lines they count and add up to the pipeline's counters.
#include "pipeline/coverage_ledger.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "output/file_sink.hpp"
#include "support/json.hpp"
#include "support/packet_builder.hpp"

namespace offpath {
namespace {

using testing::JsonValue;
using testing::Packet;
using testing::PacketBuilder;
namespace f = tcp_flags;

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kT0 = 1'700'000'000 * kSecond;  // a whole second

std::uint64_t num(const JsonValue& v, std::string_view path) {
  const JsonValue* x = v.path(path);
  EXPECT_NE(x, nullptr) << path;
  return x == nullptr ? ~0ull : static_cast<std::uint64_t>(std::stoll(x->text));
}

TEST(CoverageLedger, IntervalFloorIsTheLastMultipleNotAfter) {
  EXPECT_EQ(interval_floor(Timestamp{kT0}, kSecond).micros, kT0);
  EXPECT_EQ(interval_floor(Timestamp{kT0 + 999'999}, kSecond).micros, kT0);
  EXPECT_EQ(interval_floor(Timestamp{kT0 + 1'000'000}, kSecond).micros, kT0 + kSecond);
  EXPECT_EQ(interval_floor(Timestamp{kT0 + 61 * kSecond}, 60 * kSecond).micros,
            kT0 + 40 * kSecond);  // 1'700'000'040 is a multiple of 60
  EXPECT_EQ(interval_floor(Timestamp{-1}, kSecond).micros, -kSecond);
  EXPECT_EQ(interval_floor(Timestamp{-kSecond}, kSecond).micros, -kSecond);
}

TEST(CoverageLedger, IntervalsAreDeltasLevelsChangeAndGaugesAsAtTheEnd) {
  CoverageCounts a;
  a.packets = 100;
  a.by_outcome[static_cast<std::size_t>(Outcome::Timeout)] = 2;
  a.published = 40;
  a.written = 40;
  a.spooled = 25;  // waiting in the spool
  a.memory_bytes = 5000;
  a.shedding_level = 2;
  CoverageCounts b = a;
  b.packets = 130;
  b.by_outcome[static_cast<std::size_t>(Outcome::Timeout)] = 3;
  b.published = 50;
  b.written = 50;
  b.delivered = 35;
  b.spooled = 0;  // the spool drained
  b.memory_bytes = 4000;
  b.shedding_level = 0;
  const CoverageCounts d = interval_counts(b, a);
  EXPECT_EQ(d.packets, 30u);
  EXPECT_EQ(d.by_outcome[static_cast<std::size_t>(Outcome::Timeout)], 1u);
  EXPECT_EQ(d.published, 10u);
  EXPECT_EQ(d.delivered, 35u);
  EXPECT_EQ(d.spooled, -25);
  EXPECT_EQ(d.memory_bytes, 4000u);
  EXPECT_EQ(d.shedding_level, 0u);
}

TEST(CoverageLedger, IntervalsOfASeriesAddUpToItsLastTotals) {
  std::vector<CoverageCounts> totals(1);  // all zero at start
  for (std::uint64_t i = 1; i <= 5; ++i) {
    CoverageCounts t = totals.back();
    t.packets += 7 * i;
    t.gap_bytes += 100 * (i % 2);
    t.published += i;
    t.written += i;
    t.delivered += i - 1;
    t.spooled = static_cast<std::int64_t>(i % 3);  // rises and falls
    t.in_flight = i == 5 ? 0 : 1;
    t.dropped += i == 4 ? 1 : 0;
    totals.push_back(t);
  }
  CoverageCounts sum;
  for (std::size_t i = 1; i < totals.size(); ++i) {
    const CoverageCounts d = interval_counts(totals[i], totals[i - 1]);
    sum.packets += d.packets;
    sum.gap_bytes += d.gap_bytes;
    sum.published += d.published;
    sum.written += d.written;
    sum.delivered += d.delivered;
    sum.spooled += d.spooled;
    sum.in_flight += d.in_flight;
    sum.dropped += d.dropped;
  }
  const CoverageCounts& last = totals.back();
  EXPECT_EQ(sum.packets, last.packets);
  EXPECT_EQ(sum.gap_bytes, last.gap_bytes);
  EXPECT_EQ(sum.published, last.published);
  EXPECT_EQ(sum.written, last.written);
  EXPECT_EQ(sum.delivered, last.delivered);
  EXPECT_EQ(sum.spooled, last.spooled);
  EXPECT_EQ(sum.in_flight, last.in_flight);
  EXPECT_EQ(sum.dropped, last.dropped);
}

TEST(CoverageLedger, TotalsComeFromTheSummaryCounters) {
  PipelineCounters p;
  p.decode[0] = 90;
  p.decode[1] = 10;
  p.queue_drops = {3, 4};
  p.worker.connections.reassembly.gaps = 2;
  p.worker.connections.reassembly.gap_bytes = 1460;
  p.output.exchanges = 12;
  p.output.failed = 3;
  p.output.published = 9;
  p.output.filtered = 2;
  p.output.sampled_out = 1;
  p.output.successes_not_encoded = 5;
  p.memory.used = 1 << 20;
  p.memory.level = 3;
  SourceStats source;
  source.kernel_drops = 6;
  source.interface_drops = 1;
  source.truncated = 2;
  SinkStats sink;
  sink.written = 9;
  sink.delivered = 7;
  sink.spooled = 2;
  sink.queue_depth = 0;
  const CoverageCounts c = coverage_totals(
      p, source, {{"lost_ringbuf_full", 4}, {"lost_copy_failed", 1}, {"passed", 1000}}, sink);
  EXPECT_EQ(c.packets, 100u);
  EXPECT_EQ(c.queue_drops, 7u);
  EXPECT_EQ(c.ringbuf_lost, 5u);
  EXPECT_EQ(c.kernel_drops, 6u);
  EXPECT_EQ(c.gap_bytes, 1460u);
  EXPECT_EQ(c.published, 9u);
  EXPECT_EQ(c.shed, 5u);
  EXPECT_EQ(c.spooled, 2);
  EXPECT_EQ(c.memory_bytes, 1u << 20);
  EXPECT_EQ(c.shedding_level, 3u);
}

TEST(CoverageLedger, RecordIsJsonWithEveryField) {
  CoverageRecord r;
  r.sequence = 4;
  r.start = Timestamp{kT0};
  r.end = Timestamp{kT0 + 60 * kSecond};
  r.counts.packets = 1234;
  r.counts.by_outcome[static_cast<std::size_t>(Outcome::Complete)] = 17;
  r.counts.published = 17;
  r.counts.spooled = -3;
  std::string out;
  encode_coverage_record(r, out);
  std::string err;
  auto v = testing::parse_json(out, &err);
  ASSERT_TRUE(v) << err << "\n" << out;
  EXPECT_EQ(v->path("schema")->text, "offpath/coverage/1");
  EXPECT_EQ(num(*v, "sequence"), 4u);
  EXPECT_FALSE(testing::flag(*v, "final"));
  EXPECT_EQ(v->path("start_iso")->text, "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(v->path("end_iso")->text, "2023-11-14T22:14:20.000000Z");
  EXPECT_EQ(num(*v, "capture.packets"), 1234u);
  EXPECT_EQ(num(*v, "exchanges.by_outcome.complete"), 17u);
  EXPECT_EQ(num(*v, "exchanges.by_outcome.timeout"), 0u);
  EXPECT_EQ(num(*v, "records.published"), 17u);
  EXPECT_EQ(v->path("output.spooled")->text, "-3");
  EXPECT_NE(v->path("load.memory_bytes"), nullptr);
}

// A source for the ledger's stats() calls; frames come from the test.
class StubSource final : public Source {
 public:
  Result<void> run(FrameHandler&, const std::atomic<bool>&) override { return {}; }
  SourceStats stats() const override { return {}; }
  std::string describe() const override { return "stub"; }
  bool live() const override { return false; }
};

// One connection with one GET and its 200, `t` its first packet time.
std::vector<Packet> exchange(std::uint16_t client_port, std::int64_t t) {
  std::uint32_t c = 1000;
  std::uint32_t s = 9000;
  const std::string get = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  auto cl = [&](std::uint8_t flags, std::string_view data) {
    Packet p = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2")
                   .tcp(client_port, 80, c, s, flags).payload(data).at_micros(t).build();
    c += static_cast<std::uint32_t>(data.size()) + ((flags & (f::kSyn | f::kFin)) ? 1u : 0u);
    t += 1000;
    return p;
  };
  auto sv = [&](std::uint8_t flags, std::string_view data) {
    Packet p = PacketBuilder().eth().ipv4("10.0.0.2", "10.0.0.1")
                   .tcp(80, client_port, s, c, flags).payload(data).at_micros(t).build();
    s += static_cast<std::uint32_t>(data.size()) + ((flags & (f::kSyn | f::kFin)) ? 1u : 0u);
    t += 1000;
    return p;
  };
  std::vector<Packet> out;
  out.push_back(cl(f::kSyn, {}));
  out.push_back(sv(f::kSyn | f::kAck, {}));
  out.push_back(cl(f::kAck, {}));
  out.push_back(cl(f::kPsh | f::kAck, get));
  out.push_back(sv(f::kPsh | f::kAck, ok));
  out.push_back(cl(f::kFin | f::kAck, {}));
  out.push_back(sv(f::kFin | f::kAck, {}));
  out.push_back(cl(f::kAck, {}));
  return out;
}

// A ledger in front of a one-worker pipeline that writes to a FileSink in a file.
class LedgerRun {
 public:
  LedgerRun(const std::string& name, double interval_s)
      : path_(::testing::TempDir() + "/" + name + ".jsonl"),
        sink_(std::move(*FileSink::open(path_))),
        config_(make_config()),
        pipeline_(config_, ClassifyOptions{}, *sink_, /*live=*/false),
        ledger_(pipeline_, source_, *sink_, interval_s) {}

  void send(const std::vector<Packet>& packets) {
    for (const Packet& p : packets) ledger_.on_frame(p.frame());
  }
  void idle(std::int64_t t) { ledger_.on_idle(Timestamp{t}); }
  // As run_offpath ends a run: pipeline, flush, final record, flush.
  void finish() {
    pipeline_.finish(Outcome::CaptureEnded);
    sink_->flush(std::chrono::milliseconds(0));
    ledger_.finish();
    sink_->flush(std::chrono::milliseconds(0));
  }
  // Every line of the output, parsed.
  std::vector<JsonValue> lines() const {
    std::ifstream in(path_);
    std::string line;
    std::vector<JsonValue> out;
    while (std::getline(in, line)) {
      std::string err;
      auto v = testing::parse_json(line, &err);
      EXPECT_TRUE(v) << err << "\n" << line;
      if (v) out.push_back(*v);
    }
    return out;
  }
  const CoverageLedger& ledger() const { return ledger_; }
  const Pipeline& pipeline() const { return pipeline_; }
  SinkStats sink_stats() const { return sink_->stats(); }

 private:
  static Config make_config() {
    Config c;
    c.publish = PublishMode::All;
    return c;
  }
  std::string path_;
  std::unique_ptr<FileSink> sink_;
  Config config_;
  Pipeline pipeline_;
  StubSource source_;
  CoverageLedger ledger_;
};

bool is_coverage(const JsonValue& v) { return v.path("schema")->text == "offpath/coverage/1"; }

TEST(CoverageLedger, RecordsSitBetweenTheLinesTheyCountAndAddUpToTheCounters) {
  LedgerRun run("coverage_ledger_test", 1.0);
  // Exchanges at 0 s, 1.5 s (two of them), and 3.2 s: the third start crosses two
  // boundaries at once (one record for [1 s, 3 s)).
  for (const auto& [port, t] : std::vector<std::pair<std::uint16_t, std::int64_t>>{
           {40000, kT0}, {40001, kT0 + 1'500'000}, {40002, kT0 + 1'600'000},
           {40003, kT0 + 3'200'000}}) {
    run.send(exchange(port, t));
  }
  run.finish();
  EXPECT_EQ(run.ledger().records(), 3u);
  EXPECT_EQ(run.sink_stats().coverage_written, 3u);
  EXPECT_EQ(run.sink_stats().coverage_delivered, 3u);
  EXPECT_EQ(run.sink_stats().written, 4u);  // exchange records only

  std::vector<JsonValue> ledgers;
  std::vector<std::uint64_t> lines_before;  // exchange lines since the previous record
  std::uint64_t exchanges_seen = 0;
  for (const JsonValue& v : run.lines()) {
    if (is_coverage(v)) {
      ledgers.push_back(v);
      lines_before.push_back(exchanges_seen);
      exchanges_seen = 0;
    } else {
      ++exchanges_seen;
    }
  }
  EXPECT_EQ(exchanges_seen, 0u);  // the final record comes last
  ASSERT_EQ(ledgers.size(), 3u);
  const std::vector<std::uint64_t> want_lines{1, 2, 1};
  EXPECT_EQ(lines_before, want_lines);
  const PipelineCounters total = run.pipeline().counters();
  std::uint64_t packets = 0;
  std::uint64_t published = 0;
  std::uint64_t complete = 0;
  for (std::size_t i = 0; i < ledgers.size(); ++i) {
    const JsonValue& r = ledgers[i];
    EXPECT_EQ(num(r, "sequence"), i);
    EXPECT_EQ(testing::flag(r, "final"), i + 1 == ledgers.size());
    EXPECT_EQ(num(r, "output.written"), lines_before[i]);
    EXPECT_EQ(num(r, "records.published"), lines_before[i]);  // one worker: exact
    packets += num(r, "capture.packets");
    published += num(r, "records.published");
    complete += num(r, "exchanges.by_outcome.complete");
  }
  // Boundaries at whole seconds; the second record spans the quiet second [2 s, 3 s).
  EXPECT_EQ(ledgers[0].path("start")->text, "1700000000.000000");
  EXPECT_EQ(ledgers[0].path("end")->text, "1700000001.000000");
  EXPECT_EQ(ledgers[1].path("start")->text, "1700000001.000000");
  EXPECT_EQ(ledgers[1].path("end")->text, "1700000003.000000");
  EXPECT_EQ(ledgers[2].path("start")->text, "1700000003.000000");
  EXPECT_EQ(ledgers[2].path("end")->text, "1700000003.207000");  // the last packet
  EXPECT_EQ(num(ledgers[0], "capture.packets"), 8u);
  std::uint64_t decoded = 0;
  for (auto n : total.decode) decoded += n;
  EXPECT_EQ(packets, decoded);
  EXPECT_EQ(packets, 32u);
  EXPECT_EQ(published, total.output.published);
  EXPECT_EQ(complete, total.output.by_outcome[static_cast<std::size_t>(Outcome::Complete)]);
  EXPECT_EQ(complete, 4u);
}

TEST(CoverageLedger, IdleTicksOfALiveLinkCloseIntervals) {
  LedgerRun run("coverage_ledger_idle", 1.0);
  run.send(exchange(40000, kT0 + 200'000));
  run.idle(kT0 + 900'000);    // still in the first interval: nothing
  EXPECT_EQ(run.ledger().records(), 0u);
  run.idle(kT0 + 1'100'000);  // [0 s, 1 s) is over
  EXPECT_EQ(run.ledger().records(), 1u);
  run.idle(kT0 + 2'050'000);  // [1 s, 2 s), empty
  run.idle(kT0 + 2'060'000);
  EXPECT_EQ(run.ledger().records(), 2u);
  run.finish();
  const std::vector<JsonValue> lines = run.lines();
  ASSERT_EQ(lines.size(), 4u);  // the exchange, then three coverage records
  EXPECT_EQ(lines[1].path("start")->text, "1700000000.200000");
  EXPECT_EQ(lines[1].path("end")->text, "1700000001.000000");
  EXPECT_EQ(num(lines[1], "records.published"), 1u);
  EXPECT_EQ(num(lines[2], "capture.packets"), 0u);
  EXPECT_EQ(lines[2].path("end")->text, "1700000002.000000");
  EXPECT_TRUE(testing::flag(lines[3], "final"));
  EXPECT_EQ(lines[3].path("start")->text, "1700000002.000000");
  EXPECT_EQ(lines[3].path("end")->text, "1700000002.060000");
}

TEST(CoverageLedger, EndOnlyGivesOneFinalRecord) {
  LedgerRun run("coverage_ledger_end_only", 0);
  run.send(exchange(40000, kT0));
  run.send(exchange(40001, kT0 + 90 * kSecond));
  run.finish();
  ASSERT_EQ(run.ledger().records(), 1u);
  const std::vector<JsonValue> lines = run.lines();
  ASSERT_EQ(lines.size(), 3u);
  const JsonValue& last = lines.back();
  ASSERT_TRUE(is_coverage(last));
  EXPECT_TRUE(testing::flag(last, "final"));
  EXPECT_EQ(num(last, "records.published"), 2u);
  EXPECT_EQ(num(last, "capture.packets"), 16u);
  EXPECT_EQ(last.path("start")->text, "1700000000.000000");
  EXPECT_EQ(last.path("end")->text, "1700000090.007000");
}

}  // namespace
}  // namespace offpath
