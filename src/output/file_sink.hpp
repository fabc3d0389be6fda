// FileSink: JSON lines to standard output or a file (-o). One writer behind a mutex;
// records are appended to a large stdio buffer and written in batches. Thread-safe.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

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
  bool flush(std::chrono::milliseconds deadline) override;
  SinkStats stats() const override;

 private:
  FileSink(FILE* file, bool owned);
  FILE* file_;
  bool owned_;
  mutable std::mutex mu_;
  std::unique_ptr<char[]> buffer_;
  SinkStats stats_;
};

}  // namespace offpath
