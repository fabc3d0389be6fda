#include "output/spool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace offpath {
namespace {

constexpr char kMagic[8] = {'O', 'F', 'F', 'P', 'S', 'P', 'L', '1'};
constexpr std::uint64_t kSegmentHeader = sizeof kMagic;
constexpr std::uint64_t kRecordHeader = 8;  // u32 length + u32 CRC-32C
// Sequence numbers start high so that prepend() can always number a segment before the
// first one.
constexpr std::uint64_t kFirstSeq = 1ull << 32;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

void store_le32(char* p, std::uint32_t v) { std::memcpy(p, &v, sizeof v); }
std::uint32_t read_le32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// pread that retries on EINTR and short reads; returns the bytes read.
std::uint64_t pread_full(int fd, char* buf, std::uint64_t len, std::uint64_t off) {
  std::uint64_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::uint64_t>(n);
  }
  return done;
}

bool write_full(int fd, const iovec* iov, int iovcnt, std::uint64_t total) {
  std::vector<iovec> rest(iov, iov + iovcnt);
  std::uint64_t done = 0;
  std::size_t first = 0;
  while (done < total) {
    ssize_t n = ::writev(fd, rest.data() + first, static_cast<int>(rest.size() - first));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::uint64_t>(n);
    auto left = static_cast<std::size_t>(n);
    while (first < rest.size() && left >= rest[first].iov_len) {
      left -= rest[first].iov_len;
      ++first;
    }
    if (first < rest.size() && left > 0) {
      rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + left;
      rest[first].iov_len -= left;
    }
  }
  return true;
}

bool parse_seq(const std::string& name, std::uint64_t& seq) {
  constexpr std::string_view kSuffix = ".seg";
  if (name.size() != 20 + kSuffix.size() || !name.ends_with(kSuffix)) return false;
  auto [end, ec] = std::from_chars(name.data(), name.data() + 20, seq);
  return ec == std::errc() && end == name.data() + 20;
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) {
  crc = ~crc;
  for (char ch : data) {
    crc = kCrcTable[(crc ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (crc >> 8);
  }
  return ~crc;
}

Spool::Spool(std::string dir) : dir_(std::move(dir)) {}

Spool::~Spool() {
  sync();
  std::lock_guard lock(mu_);
  if (write_fd_ >= 0) ::close(write_fd_);
  if (read_fd_ >= 0) ::close(read_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string Spool::segment_path(std::uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(seq));
  return dir_ + "/" + name;
}

Result<std::unique_ptr<Spool>> Spool::open(const SpoolOptions& options) {
  if (options.dir.empty()) return make_error("spool: no directory given");
  if (options.max_bytes < 4096) return make_error("spool: maximum size below 4 KiB");
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return make_error("spool: cannot create directory " + options.dir + ": " + ec.message());

  std::unique_ptr<Spool> spool(new Spool(options.dir));
  spool->max_bytes_ = options.max_bytes;
  spool->segment_bytes_ = options.segment_bytes != 0
                              ? options.segment_bytes
                              : std::clamp<std::uint64_t>(options.max_bytes / 8, 64u << 10,
                                                          64u << 20);

  std::string lock_path = options.dir + "/lock";
  spool->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (spool->lock_fd_ < 0) {
    return make_error("spool: cannot open " + lock_path + ": " + errno_text(errno));
  }
  if (::flock(spool->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      return make_error("spool: directory " + options.dir + " is in use by another process");
    }
    return make_error("spool: cannot lock " + lock_path + ": " + errno_text(err));
  }

  std::lock_guard lock(spool->mu_);
  auto scanned = spool->scan_locked();
  if (!scanned) return scanned.error();
  return spool;
}

Result<void> Spool::scan_locked() {
  std::error_code ec;
  std::vector<std::uint64_t> seqs;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    std::uint64_t seq = 0;
    if (parse_seq(name, seq)) {
      seqs.push_back(seq);
    } else if (name.ends_with(".seg.tmp") || name == "cursor.tmp") {
      std::filesystem::remove(entry.path(), ec);  // an interrupted prepend or cursor write
    }
  }
  if (ec) return make_error("spool: cannot list " + dir_ + ": " + ec.message());
  std::sort(seqs.begin(), seqs.end());

  // Cursor: "seq start" per line, the acknowledged prefix of a segment.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> cursor;
  {
    std::ifstream in(dir_ + "/cursor");
    std::uint64_t seq = 0;
    std::uint64_t start = 0;
    while (in >> seq >> start) cursor.emplace_back(seq, start);
  }

  for (std::uint64_t seq : seqs) {
    std::string path = segment_path(seq);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error("spool: cannot open " + path + ": " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return make_error("spool: cannot stat " + path + ": " + errno_text(err));
    }
    auto size = static_cast<std::uint64_t>(st.st_size);
    char magic[kSegmentHeader];
    if (size < kSegmentHeader || pread_full(fd, magic, kSegmentHeader, 0) != kSegmentHeader ||
        std::memcmp(magic, kMagic, kSegmentHeader) != 0) {
      // Created but never written, or not ours: nothing in it can be read.
      ::close(fd);
      stats_.corrupt_bytes += size;
      std::filesystem::remove(path, ec);
      continue;
    }
    Segment segment;
    segment.seq = seq;
    segment.size = size;
    segment.start = kSegmentHeader;
    for (const auto& [cseq, cstart] : cursor) {
      if (cseq == seq) segment.start = std::clamp<std::uint64_t>(cstart, kSegmentHeader, size);
    }
    // Walk the record headers; a bad length or a short record ends the segment (torn tail).
    std::uint64_t off = segment.start;
    std::uint64_t records = 0;
    while (off + kRecordHeader <= size) {
      char header[kRecordHeader];
      if (pread_full(fd, header, kRecordHeader, off) != kRecordHeader) break;
      std::uint32_t len = read_le32(header);
      if (len == 0 || len > kMaxRecordBytes || off + kRecordHeader + len > size) break;
      off += kRecordHeader + len;
      ++records;
    }
    ::close(fd);
    segment.valid_end = off;
    stats_.corrupt_bytes += size - off;
    if (segment.start >= segment.valid_end) {
      std::filesystem::remove(path, ec);  // fully acknowledged before the restart
      continue;
    }
    stats_.recovered += records;
    stats_.unread += records;
    stats_.bytes += size;
    segments_.push_back(segment);
  }
  next_seq_ = segments_.empty() ? kFirstSeq : segments_.back().seq + 1;
  if (!segments_.empty()) {
    read_seq_ = segments_.front().seq;
    read_off_ = segments_.front().start;
  }
  cursor_dirty_ = true;  // rewrite it without the entries of deleted segments
  return {};
}

SpoolAppend Spool::append(std::string_view record) {
  if (record.empty() || record.size() > kMaxRecordBytes) {
    std::lock_guard lock(mu_);
    ++stats_.full;
    return SpoolAppend::Full;
  }
  const std::uint64_t need = kRecordHeader + record.size();
  std::lock_guard lock(mu_);
  bool new_segment = write_fd_ < 0 ||
                     (segments_.back().size + need > segment_bytes_ &&
                      segments_.back().size > kSegmentHeader);
  if (stats_.bytes + need + (new_segment ? kSegmentHeader : 0) > max_bytes_) {
    ++stats_.full;
    return SpoolAppend::Full;
  }
  if (new_segment && !rotate_locked(need)) {
    ++stats_.io_errors;
    return SpoolAppend::IoError;
  }
  Segment& segment = segments_.back();
  char header[kRecordHeader];
  store_le32(header, static_cast<std::uint32_t>(record.size()));
  store_le32(header + 4, crc32c(record));
  iovec iov[2] = {{header, sizeof header},
                  {const_cast<char*>(record.data()), record.size()}};
  if (!write_full(write_fd_, iov, 2, need)) {
    ++stats_.io_errors;
    // Cut the partial record off; if even that fails, stop writing to this segment (its
    // valid end stays before the partial record, which a later open() treats as torn).
    if (::ftruncate(write_fd_, static_cast<off_t>(segment.size)) != 0) {
      struct stat st {};
      if (::fstat(write_fd_, &st) == 0 && static_cast<std::uint64_t>(st.st_size) > segment.size) {
        stats_.bytes += static_cast<std::uint64_t>(st.st_size) - segment.size;
        segment.size = static_cast<std::uint64_t>(st.st_size);
      }
      ::close(write_fd_);
      write_fd_ = -1;
    }
    return SpoolAppend::IoError;
  }
  segment.size += need;
  segment.valid_end = segment.size;
  stats_.bytes += need;
  ++stats_.unread;
  ++stats_.appended;
  write_dirty_ = true;
  return SpoolAppend::Ok;
}

bool Spool::rotate_locked(std::uint64_t /*record_bytes*/) {
  if (write_fd_ >= 0) {
    (void)::fdatasync(write_fd_);
    ::close(write_fd_);
    write_fd_ = -1;
    write_dirty_ = false;
  }
  std::uint64_t seq = next_seq_;
  std::string path = segment_path(seq);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  iovec iov[1] = {{const_cast<char*>(kMagic), kSegmentHeader}};
  if (!write_full(fd, iov, 1, kSegmentHeader)) {
    ::close(fd);
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return false;
  }
  ++next_seq_;
  write_fd_ = fd;
  Segment segment;
  segment.seq = seq;
  segment.size = kSegmentHeader;
  segment.valid_end = kSegmentHeader;
  segment.start = kSegmentHeader;
  segments_.push_back(segment);
  stats_.bytes += kSegmentHeader;
  if (segments_.size() == 1) {
    read_seq_ = seq;
    read_off_ = kSegmentHeader;
  }
  return true;
}

void Spool::open_reader_locked(std::uint64_t seq) {
  if (read_fd_ >= 0 && read_fd_seq_ == seq) return;
  if (read_fd_ >= 0) ::close(read_fd_);
  read_fd_ = ::open(segment_path(seq).c_str(), O_RDONLY | O_CLOEXEC);
  read_fd_seq_ = seq;
}

bool Spool::peek(std::string& out, std::uint64_t& ticket) {
  std::lock_guard lock(mu_);
  peeked_ = false;
  for (;;) {
    // Find the reader's segment (or the first one after it, when it was deleted).
    auto it = std::find_if(segments_.begin(), segments_.end(),
                           [&](const Segment& s) { return s.seq >= read_seq_; });
    if (it == segments_.end()) {
      stats_.unread = 0;
      return false;
    }
    if (it->seq != read_seq_) {
      read_seq_ = it->seq;
      read_off_ = it->start;
    } else if (read_off_ < it->start) {
      read_off_ = it->start;
    }
    const Segment& segment = *it;
    bool is_write_segment = write_fd_ >= 0 && &segment == &segments_.back();
    if (read_off_ >= segment.valid_end) {
      if (is_write_segment || std::next(it) == segments_.end()) {
        stats_.unread = 0;
        return false;
      }
      read_seq_ = std::next(it)->seq;
      read_off_ = std::next(it)->start;
      continue;
    }
    open_reader_locked(segment.seq);
    char header[kRecordHeader];
    std::uint32_t len = 0;
    bool whole = read_fd_ >= 0 &&
                 pread_full(read_fd_, header, kRecordHeader, read_off_) == kRecordHeader;
    if (whole) {
      len = read_le32(header);
      whole = len != 0 && len <= kMaxRecordBytes &&
              read_off_ + kRecordHeader + len <= segment.valid_end;
    }
    if (whole) {
      out.resize(len);
      whole = pread_full(read_fd_, out.data(), len, read_off_ + kRecordHeader) == len;
    }
    if (!whole) {
      // Unreadable from here on (changed under us, or an I/O error): skip the segment rest.
      stats_.corrupt_bytes += segment.valid_end - read_off_;
      ++stats_.corrupt_records;
      if (stats_.unread > 0) --stats_.unread;
      taken_.push_back({segment.seq, segment.valid_end, true, true});
      read_off_ = segment.valid_end;
      commit_locked();
      continue;
    }
    std::uint64_t end = read_off_ + kRecordHeader + len;
    if (crc32c(out) != read_le32(header + 4)) {
      stats_.corrupt_bytes += kRecordHeader + len;
      ++stats_.corrupt_records;
      if (stats_.unread > 0) --stats_.unread;
      taken_.push_back({segment.seq, end, true, true});
      read_off_ = end;
      commit_locked();
      continue;
    }
    peeked_ = true;
    peeked_end_ = end;
    ticket = first_ticket_ + taken_.size();
    return true;
  }
}

std::uint64_t Spool::advance() {
  std::lock_guard lock(mu_);
  if (!peeked_) return ~0ull;
  peeked_ = false;
  taken_.push_back({read_seq_, peeked_end_, false, false});
  read_off_ = peeked_end_;
  if (stats_.unread > 0) --stats_.unread;
  ++unacked_;
  return first_ticket_ + taken_.size() - 1;
}

void Spool::ack(std::uint64_t ticket) {
  std::lock_guard lock(mu_);
  if (ticket < first_ticket_ || ticket - first_ticket_ >= taken_.size()) return;
  Taken& taken = taken_[ticket - first_ticket_];
  if (taken.acked) return;
  taken.acked = true;
  --unacked_;
  commit_locked();
}

void Spool::commit_locked() {
  bool moved = false;
  std::uint64_t seq = 0;
  std::uint64_t end = 0;
  while (!taken_.empty() && taken_.front().acked) {
    seq = taken_.front().seq;
    end = taken_.front().end;
    taken_.pop_front();
    ++first_ticket_;
    moved = true;
  }
  if (!moved) return;
  cursor_dirty_ = true;
  while (!segments_.empty() && segments_.front().seq < seq) delete_front_segment_locked();
  if (segments_.empty() || segments_.front().seq != seq) return;
  Segment& front = segments_.front();
  front.start = std::max(front.start, end);
  if (front.start < front.valid_end) return;
  bool is_write_segment = write_fd_ >= 0 && segments_.size() == 1;
  if (is_write_segment) {
    if (front.size != front.valid_end || !taken_.empty()) return;
    ::close(write_fd_);  // fully consumed: start the next append on a fresh segment
    write_fd_ = -1;
    write_dirty_ = false;
  }
  delete_front_segment_locked();
}

void Spool::delete_front_segment_locked() {
  const Segment& front = segments_.front();
  if (read_fd_ >= 0 && read_fd_seq_ == front.seq) {
    ::close(read_fd_);
    read_fd_ = -1;
  }
  std::error_code ec;
  std::filesystem::remove(segment_path(front.seq), ec);
  stats_.bytes -= std::min(stats_.bytes, front.size);
  segments_.pop_front();
}

void Spool::rewind() {
  std::lock_guard lock(mu_);
  peeked_ = false;
  for (const Taken& taken : taken_) {
    if (!taken.skipped) ++stats_.unread;
  }
  first_ticket_ += taken_.size();
  taken_.clear();
  unacked_ = 0;
  if (!segments_.empty()) {
    read_seq_ = segments_.front().seq;
    read_off_ = segments_.front().start;
  }
}

Result<std::size_t> Spool::prepend(const std::vector<std::string>& records) {
  {
    std::lock_guard lock(mu_);
    if (!taken_.empty()) return make_error("spool: prepend with records still being read");
    if (segments_.empty()) {
      // Nothing to go before: a plain append keeps the order.
    } else {
      std::uint64_t seq = segments_.front().seq - 1;
      std::string path = segment_path(seq);
      std::string tmp = path + ".tmp";
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return make_error("spool: cannot create " + tmp + ": " + errno_text(errno));
      std::uint64_t size = kSegmentHeader;
      std::size_t stored = 0;
      bool ok = true;
      std::string buf(kMagic, kSegmentHeader);
      for (const std::string& record : records) {
        std::uint64_t need = kRecordHeader + record.size();
        if (record.empty() || record.size() > kMaxRecordBytes ||
            stats_.bytes + size + need > max_bytes_) {
          break;
        }
        char header[kRecordHeader];
        store_le32(header, static_cast<std::uint32_t>(record.size()));
        store_le32(header + 4, crc32c(record));
        buf.append(header, kRecordHeader);
        buf.append(record);
        size += need;
        ++stored;
      }
      if (stored == 0) {
        ::close(fd);
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        return std::size_t{0};
      }
      iovec iov[1] = {{buf.data(), buf.size()}};
      ok = write_full(fd, iov, 1, buf.size()) && ::fdatasync(fd) == 0;
      int err = errno;
      ::close(fd);
      if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        if (ok) err = errno;
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        ++stats_.io_errors;
        return make_error("spool: cannot write " + path + ": " + errno_text(err));
      }
      fsync_dir(dir_);
      Segment segment;
      segment.seq = seq;
      segment.size = size;
      segment.valid_end = size;
      segment.start = kSegmentHeader;
      segments_.push_front(segment);
      stats_.bytes += size;
      stats_.unread += stored;
      stats_.appended += stored;
      peeked_ = false;
      read_seq_ = seq;
      read_off_ = kSegmentHeader;
      return stored;
    }
  }
  std::size_t stored = 0;
  for (const std::string& record : records) {
    if (append(record) != SpoolAppend::Ok) break;
    ++stored;
  }
  return stored;
}

void Spool::persist_cursor_locked() {
  std::string text;
  for (const Segment& segment : segments_) {
    if (segment.start > kSegmentHeader) {
      text += std::to_string(segment.seq) + " " + std::to_string(segment.start) + "\n";
    }
  }
  std::string tmp = dir_ + "/cursor.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;  // retried at the next sync(); at worst records are sent twice
  iovec iov[1] = {{text.data(), text.size()}};
  bool ok = write_full(fd, iov, 1, text.size());
  ::close(fd);
  if (ok && ::rename(tmp.c_str(), (dir_ + "/cursor").c_str()) == 0) cursor_dirty_ = false;
}

void Spool::sync() {
  int fd = -1;
  {
    std::lock_guard lock(mu_);
    if (cursor_dirty_) persist_cursor_locked();
    if (write_dirty_ && write_fd_ >= 0) {
      fd = ::dup(write_fd_);  // synced outside the lock, so appends do not wait for it
      write_dirty_ = false;
    }
  }
  if (fd >= 0) {
    (void)::fdatasync(fd);
    ::close(fd);
  }
}

SpoolStats Spool::stats() const {
  std::lock_guard lock(mu_);
  SpoolStats stats = stats_;
  stats.unacked = unacked_;
  stats.segments = segments_.size();
  return stats;
}

std::uint64_t Spool::unread() const {
  std::lock_guard lock(mu_);
  return stats_.unread;
}

std::uint64_t Spool::unacked() const {
  std::lock_guard lock(mu_);
  return unacked_;
}

}  // namespace offpath
