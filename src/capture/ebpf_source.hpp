// Live capture with eBPF (--capture ebpf): the TC clsact program of bpf/capture.bpf.c,
// attached to ingress and egress of each interface, filters in the kernel (TCP, server
// ports, client/server networks, payload-less ACKs) and copies packets into a BPF ring
// buffer that run() drains on the capture thread. Frames go to the handler as Ethernet
// (Raw on devices without a link header), timestamped by converting the kernel's
// monotonic clock to wall time.
//
// Ownership: the source owns the loaded skeleton, the ring buffer, its TC filters and a
// per-interface instance lock. The destructor detaches exactly the filters it attached
// (checked by program id) and removes the clsact qdisc only if it created it and
// nothing else is left on it. Filters sit at a fixed handle and priority, so a run that
// was killed is cleaned up by the next one: it takes the lock and replaces them.
// A second instance on the same interface (same network namespace) is refused.
//
// Threads: open() and the destructor on the start-up thread; run() on the capture
// thread; stats() and kernel_counters() from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/source.hpp"
#include "config/config.hpp"
#include "offpath_abi.h"

namespace offpath {

// TC filter identity of the program on every hook: `tc filter show dev X ingress`
// lists it as "pref 49152 ... handle 0x4f50 offpath_ingress".
inline constexpr std::uint32_t kTcHandle = 0x4f50;
inline constexpr std::uint32_t kTcPriority = 0xc000;

using KernelCounters = std::array<std::uint64_t, OFFPATH_CNT_MAX>;

// Metric label of a counter index ("seen", "skip_port", "lost_ringbuf_full", ...).
const char* to_string(enum offpath_counter counter);

// Nanoseconds to add to CLOCK_MONOTONIC to get CLOCK_REALTIME, sampled now.
std::int64_t monotonic_to_realtime_offset_ns();
// A bpf_ktime_get_ns() time as packet time (microseconds since the epoch).
Timestamp monotonic_to_timestamp(std::uint64_t mono_ns, std::int64_t offset_ns);

class EbpfSource final : public Source {
 public:
  // Loads the program and attaches it. Errors: an unknown interface, "any", another
  // instance on the interface, a bad --client/--server network, or missing privileges
  // (CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON).
  static Result<std::unique_ptr<EbpfSource>> open(const LiveCaptureOptions& options);
  ~EbpfSource() override;
  EbpfSource(const EbpfSource&) = delete;
  EbpfSource& operator=(const EbpfSource&) = delete;

  Result<void> run(FrameHandler& handler, const std::atomic<bool>& stop) override;
  // kernel_drops = ring buffer full + copy failures; truncated = super-packets longer
  // than OFFPATH_MAX_FRAME or --snaplen.
  SourceStats stats() const override;
  std::string describe() const override;
  // The kernel counters by name (seen, skip_port, submitted, lost_ringbuf_full, ...).
  std::vector<std::pair<std::string, std::uint64_t>> backend_counters() const override;

  // The kernel's counters, summed over CPUs (index = enum offpath_counter).
  Result<KernelCounters> kernel_counters() const;
  // Records user space rejected (wrong ABI version or size): should stay 0.
  std::uint64_t bad_records() const { return bad_records_.load(std::memory_order_relaxed); }
  // Ids of the loaded programs (ingress, egress), for tests and diagnostics.
  std::vector<std::uint32_t> program_ids() const;

 private:
  struct Impl;
  explicit EbpfSource(std::unique_ptr<Impl> impl);
  static int on_record(void* ctx, void* data, std::size_t size);

  std::unique_ptr<Impl> impl_;
  std::atomic<std::uint64_t> frames_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> bad_records_{0};
};

}  // namespace offpath
