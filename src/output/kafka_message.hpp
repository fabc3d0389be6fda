// One Kafka message as the spool stores it: topic, key, headers, timestamp and payload,
// in a small versioned binary form (kafka_sink.cpp encodes on the way into the spool and
// decodes on the way back out). Pure functions; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace offpath {

struct KafkaHeaderView {
  std::string_view name;
  std::string_view value;
};

// Views into the buffer it was decoded from (or into the caller's strings).
struct KafkaMessageView {
  static constexpr std::size_t kMaxHeaders = 16;

  std::string_view topic;
  bool has_key = false;          // a null key and an empty key are different in Kafka
  std::string_view key;
  std::int64_t timestamp_ms = 0;  // 0: let the producer stamp it
  std::array<KafkaHeaderView, kMaxHeaders> headers{};
  std::size_t header_count = 0;
  std::string_view payload;
};

// Appends the encoded message to `out` (which is cleared first). Headers beyond
// kMaxHeaders are not stored.
void encode_kafka_message(const KafkaMessageView& message, std::string& out);

// False when `data` is not a well-formed encoded message; `message` then holds garbage.
bool decode_kafka_message(std::string_view data, KafkaMessageView& message);

}  // namespace offpath
