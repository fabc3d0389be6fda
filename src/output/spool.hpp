// Spool: a bounded, append-only, crash-safe queue of records on disk, used by the Kafka
// sink to keep messages while the brokers are unreachable and to carry them across a
// restart of offpath.
//
// Layout: a directory holding segment files `<20-digit sequence>.seg`, a `cursor` file and
// a `lock` file. A segment starts with an 8-byte magic and holds records
// [u32 length][u32 CRC-32C of the body][body], little-endian. Records are read back in
// the order they were appended, across segments and across restarts.
//
// Durability: append() is one writev() straight to the file (no user-space buffer), so a
// crash of the process loses nothing that was appended; sync() (called about once a
// second by the owner, and on close) makes it durable against a crash of the machine.
// A record torn by a crash (short tail, bad length, CRC mismatch) is skipped and counted,
// never fatal: open() finds torn tails, peek() finds CRC mismatches.
//
// Reading is two-phase: peek() shows the next unread record, advance() takes it and
// returns a ticket, ack(ticket) says its fate is settled (delivered, or copied back to the
// tail). A segment is deleted once every record in it is acknowledged; the `cursor` file
// remembers how far the oldest segments were acknowledged, so a restart re-reads only
// records whose acknowledgement was not yet persisted (at-least-once).
//
// Threads: every method is thread-safe (one internal mutex). The Kafka sink appends from
// worker threads and reads, acknowledges and syncs from its background thread. Only one
// process may open a directory at a time (flock on `lock`).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace offpath {

struct SpoolOptions {
  std::string dir;                   // created if missing
  std::uint64_t max_bytes = 1ull << 30;  // all segment files together, headers included
  std::uint64_t segment_bytes = 0;   // 0: max_bytes / 8, clamped to [64 KiB, 64 MiB]
};

enum class SpoolAppend { Ok, Full, IoError };

struct SpoolStats {
  std::uint64_t bytes = 0;            // on disk, in segment files
  std::uint64_t unread = 0;           // records not yet taken by advance()
  std::uint64_t unacked = 0;          // taken, not yet acknowledged
  std::uint64_t segments = 0;
  std::uint64_t recovered = 0;        // records found by open() (left by an earlier run)
  std::uint64_t appended = 0;         // records appended since open()
  std::uint64_t full = 0;             // appends refused: spool full
  std::uint64_t io_errors = 0;        // appends refused: write error (e.g. disk full)
  std::uint64_t corrupt_records = 0;  // records skipped: CRC mismatch or bad length
  std::uint64_t corrupt_bytes = 0;    // bytes skipped: torn tails, bad records, bad files
};

class Spool {
 public:
  static constexpr std::uint32_t kMaxRecordBytes = 64u << 20;

  // Opens (or creates) the directory, takes its lock, scans the segments left by an
  // earlier run. Errors name the directory and the failing call.
  static Result<std::unique_ptr<Spool>> open(const SpoolOptions& options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends one non-empty record at the tail. Full when it does not fit in max_bytes.
  SpoolAppend append(std::string_view record);

  // Copies the next unread record into `out` and sets `ticket` to the ticket advance()
  // will return for it; false when there is none. Corrupt records met on the way are
  // skipped and counted.
  bool peek(std::string& out, std::uint64_t& ticket);
  // Takes the record last shown by peek(); returns its ticket for ack().
  std::uint64_t advance();
  // The record's fate is settled; it will not be read again, even after a restart (once
  // the cursor is persisted). Unknown or stale tickets are ignored.
  void ack(std::uint64_t ticket);
  // Forgets every taken-but-unacknowledged record: they become unread again, their
  // tickets stale.
  void rewind();
  // Writes `records` as a new segment before every other one (they will be read first).
  // Needs no taken-but-unacknowledged record (call rewind() first). Stores the longest
  // prefix that fits in max_bytes and returns how many were stored, or an error.
  Result<std::size_t> prepend(const std::vector<std::string>& records);

  // fdatasync of the tail segment and persisting of the cursor, when they changed.
  void sync();

  SpoolStats stats() const;
  std::uint64_t unread() const;
  std::uint64_t unacked() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Segment {
    std::uint64_t seq = 0;
    std::uint64_t size = 0;       // bytes in the file
    std::uint64_t valid_end = 0;  // end of the last well-formed record
    std::uint64_t start = 0;      // acknowledged prefix (a record boundary)
  };
  struct Taken {
    std::uint64_t seq;
    std::uint64_t end;
    bool acked;
    bool skipped;  // a corrupt record passed over, not a real read
  };

  explicit Spool(std::string dir);
  std::string segment_path(std::uint64_t seq) const;
  Result<void> scan_locked();
  void open_reader_locked(std::uint64_t seq);
  bool rotate_locked(std::uint64_t record_bytes);
  void commit_locked();
  void delete_front_segment_locked();
  void persist_cursor_locked();

  const std::string dir_;
  std::uint64_t max_bytes_ = 0;
  std::uint64_t segment_bytes_ = 0;
  int lock_fd_ = -1;

  mutable std::mutex mu_;
  std::deque<Segment> segments_;  // oldest first; the last one may be the write segment
  int write_fd_ = -1;             // appends go to segments_.back() while open
  bool write_dirty_ = false;
  std::uint64_t next_seq_ = 0;

  // Reader: position of the next unread record.
  std::uint64_t read_seq_ = 0;
  std::uint64_t read_off_ = 0;
  int read_fd_ = -1;
  std::uint64_t read_fd_seq_ = 0;
  bool peeked_ = false;
  std::uint64_t peeked_end_ = 0;

  std::deque<Taken> taken_;       // in read order
  std::uint64_t first_ticket_ = 0;
  std::uint64_t unacked_ = 0;
  bool cursor_dirty_ = false;

  SpoolStats stats_;
};

// CRC-32C (Castagnoli), as used for spool records.
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

}  // namespace offpath
