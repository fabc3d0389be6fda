// FileSink: JSON lines to standard output or a file (-o). Thread-safe.
//
// Records reach the file in blocks: each worker writes through its own FileSinkBuffer,
// which appends records (newline-terminated) to a private buffer and hands the whole
// buffer to the FileSink when it is full, when the worker goes idle and at the end. The
// FileSink takes its mutex once per block, never per record, so workers do not serialise
// on output. Records of one worker stay in order; blocks of different workers interleave
// whole, so every line is intact. write() (one record at a time) still works for callers
// without a buffer.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "output/sink.hpp"

namespace offpath {

class FileSink final : public Sink {
 public:
  // Empty path or "-" = standard output.
  static Result<std::unique_ptr<FileSink>> open(const std::string& path);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  void write(const OutputRecord& record) override;
  // Writes `lines` (`records` complete newline-terminated records) in one go.
  void write_block(std::string_view lines, std::uint64_t records);
  bool flush(std::chrono::milliseconds deadline) override;
  SinkStats stats() const override;
  bool uses_keys() const override { return false; }  // lines carry no key
  // One line, under the lock that orders the blocks: the lines before it are exactly the
  // records `written` counts.
  void write_coverage(Timestamp ts, const CoverageMaker& make) override;

 private:
  FileSink(FILE* file, bool owned);
  FILE* file_;
  bool owned_;
  mutable std::mutex mu_;
  std::unique_ptr<char[]> buffer_;
  SinkStats stats_;
};

// One worker's buffer in front of a shared FileSink. Used by one thread only; its buffer
// is allocated once (no allocation per record unless a record exceeds the buffer).
class FileSinkBuffer final : public Sink {
 public:
  static constexpr std::size_t kDefaultCapacity = 256 * 1024;
  explicit FileSinkBuffer(FileSink& sink, std::size_t capacity = kDefaultCapacity);
  ~FileSinkBuffer() override;
  FileSinkBuffer(const FileSinkBuffer&) = delete;
  FileSinkBuffer& operator=(const FileSinkBuffer&) = delete;

  void write(const OutputRecord& record) override;
  // Hands what is buffered to the FileSink (which may still hold it in its stdio buffer:
  // FileSink::flush() pushes it to the file).
  bool flush(std::chrono::milliseconds deadline) override;
  SinkStats stats() const override { return sink_.stats(); }
  bool uses_keys() const override { return false; }
  bool empty() const { return records_ == 0; }

 private:
  FileSink& sink_;
  std::size_t capacity_;
  std::string buffer_;
  std::uint64_t records_ = 0;
};

}  // namespace offpath
