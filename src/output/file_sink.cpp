#include "output/file_sink.hpp"

#include <cerrno>
#include <cstring>

namespace offpath {

namespace {
constexpr std::size_t kBufferSize = 1 << 20;
}

Result<std::unique_ptr<FileSink>> FileSink::open(const std::string& path) {
  if (path.empty() || path == "-") return std::unique_ptr<FileSink>(new FileSink(stdout, false));
  FILE* f = std::fopen(path.c_str(), "we");
  if (f == nullptr) {
    return make_error("cannot write output file '" + path + "': " + std::strerror(errno));
  }
  return std::unique_ptr<FileSink>(new FileSink(f, true));
}

FileSink::FileSink(FILE* file, bool owned)
    : file_(file), owned_(owned), buffer_(new char[kBufferSize]) {
  std::setvbuf(file_, buffer_.get(), _IOFBF, kBufferSize);
}

FileSink::~FileSink() {
  std::fflush(file_);
  if (owned_) std::fclose(file_);
}

void FileSink::write(const OutputRecord& record) {
  std::lock_guard lock(mu_);
  ++stats_.written;
  bool ok = std::fwrite(record.payload.data(), 1, record.payload.size(), file_) ==
                record.payload.size() &&
            std::fputc('\n', file_) != EOF;
  if (ok) {
    ++stats_.delivered;
  } else {
    ++stats_.failed;
  }
}

void FileSink::write_block(std::string_view lines, std::uint64_t records) {
  if (records == 0) return;
  std::lock_guard lock(mu_);
  stats_.written += records;
  if (std::fwrite(lines.data(), 1, lines.size(), file_) == lines.size()) {
    stats_.delivered += records;
  } else {
    stats_.failed += records;
  }
}

void FileSink::write_coverage(Timestamp /*ts*/, const CoverageMaker& make) {
  std::string line;
  std::lock_guard lock(mu_);
  make(stats_, line);
  line.push_back('\n');
  ++stats_.coverage_written;
  if (std::fwrite(line.data(), 1, line.size(), file_) == line.size()) {
    ++stats_.coverage_delivered;
  } else {
    ++stats_.coverage_failed;
  }
}

bool FileSink::flush(std::chrono::milliseconds /*deadline*/) {
  std::lock_guard lock(mu_);
  return std::fflush(file_) == 0;
}

SinkStats FileSink::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

FileSinkBuffer::FileSinkBuffer(FileSink& sink, std::size_t capacity)
    : sink_(sink), capacity_(capacity) {
  buffer_.reserve(capacity_);
}

FileSinkBuffer::~FileSinkBuffer() { flush(std::chrono::milliseconds(0)); }

void FileSinkBuffer::write(const OutputRecord& record) {
  if (buffer_.size() + record.payload.size() + 1 > capacity_) flush(std::chrono::milliseconds(0));
  buffer_.append(record.payload);
  buffer_.push_back('\n');
  ++records_;
}

bool FileSinkBuffer::flush(std::chrono::milliseconds /*deadline*/) {
  sink_.write_block(buffer_, records_);
  buffer_.clear();
  records_ = 0;
  return true;
}

}  // namespace offpath
