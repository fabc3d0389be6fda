#include "output/kafka_message.hpp"

#include <cstring>

namespace offpath {
namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kHasKey = 1;

template <typename T>
void put(std::string& out, T value) {
  char buf[sizeof(T)];
  std::memcpy(buf, &value, sizeof(T));
  out.append(buf, sizeof(T));
}

template <typename Len>
void put_bytes(std::string& out, std::string_view bytes) {
  put(out, static_cast<Len>(bytes.size()));
  out.append(bytes);
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  template <typename T>
  bool get(T& value) {
    if (data_.size() < sizeof(T)) return false;
    std::memcpy(&value, data_.data(), sizeof(T));
    data_.remove_prefix(sizeof(T));
    return true;
  }

  template <typename Len>
  bool get_bytes(std::string_view& bytes) {
    Len len{};
    if (!get(len) || data_.size() < len) return false;
    bytes = data_.substr(0, len);
    data_.remove_prefix(len);
    return true;
  }

  bool empty() const { return data_.empty(); }

 private:
  std::string_view data_;
};

}  // namespace

void encode_kafka_message(const KafkaMessageView& message, std::string& out) {
  out.clear();
  put<std::uint8_t>(out, kVersion);
  put<std::uint8_t>(out, message.has_key ? kHasKey : 0);
  put<std::int64_t>(out, message.timestamp_ms);
  put_bytes<std::uint16_t>(out, message.topic.substr(0, 0xFFFF));
  if (message.has_key) put_bytes<std::uint32_t>(out, message.key);
  std::size_t count = message.header_count < KafkaMessageView::kMaxHeaders
                          ? message.header_count
                          : KafkaMessageView::kMaxHeaders;
  put<std::uint8_t>(out, static_cast<std::uint8_t>(count));
  for (std::size_t i = 0; i < count; ++i) {
    put_bytes<std::uint16_t>(out, message.headers[i].name.substr(0, 0xFFFF));
    put_bytes<std::uint32_t>(out, message.headers[i].value);
  }
  put_bytes<std::uint32_t>(out, message.payload);
}

bool decode_kafka_message(std::string_view data, KafkaMessageView& message) {
  Reader in(data);
  std::uint8_t version = 0;
  std::uint8_t flags = 0;
  if (!in.get(version) || version != kVersion || !in.get(flags)) return false;
  if (!in.get(message.timestamp_ms)) return false;
  if (!in.get_bytes<std::uint16_t>(message.topic) || message.topic.empty()) return false;
  message.has_key = (flags & kHasKey) != 0;
  message.key = {};
  if (message.has_key && !in.get_bytes<std::uint32_t>(message.key)) return false;
  std::uint8_t count = 0;
  if (!in.get(count) || count > KafkaMessageView::kMaxHeaders) return false;
  message.header_count = count;
  for (std::size_t i = 0; i < count; ++i) {
    if (!in.get_bytes<std::uint16_t>(message.headers[i].name) ||
        !in.get_bytes<std::uint32_t>(message.headers[i].value)) {
      return false;
    }
  }
  return in.get_bytes<std::uint32_t>(message.payload) && in.empty();
}

}  // namespace offpath
