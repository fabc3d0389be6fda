// Spool form of a Kafka message: round trip and rejection of damaged input.
#include "output/kafka_message.hpp"

#include <gtest/gtest.h>

namespace offpath {
namespace {

TEST(KafkaMessage, RoundTrip) {
  KafkaMessageView in;
  in.topic = "http-exchanges";
  in.has_key = true;
  in.key = "10.0.0.1:4321-10.0.0.2:80";
  in.timestamp_ms = 1362692526939;
  in.headers[0] = {"content-type", "application/json"};
  in.headers[1] = {"outcome", ""};
  in.header_count = 2;
  in.payload = std::string_view("{\"a\":1}\0z", 9);
  std::string buf;
  encode_kafka_message(in, buf);
  KafkaMessageView out;
  ASSERT_TRUE(decode_kafka_message(buf, out));
  EXPECT_EQ(out.topic, in.topic);
  EXPECT_TRUE(out.has_key);
  EXPECT_EQ(out.key, in.key);
  EXPECT_EQ(out.timestamp_ms, in.timestamp_ms);
  ASSERT_EQ(out.header_count, 2u);
  EXPECT_EQ(out.headers[0].name, "content-type");
  EXPECT_EQ(out.headers[0].value, "application/json");
  EXPECT_EQ(out.headers[1].value, "");
  EXPECT_EQ(out.payload, in.payload);
}

TEST(KafkaMessage, NullKeyAndEmptyKeyDiffer) {
  KafkaMessageView in;
  in.topic = "t";
  in.payload = "p";
  std::string buf;
  encode_kafka_message(in, buf);
  KafkaMessageView out;
  ASSERT_TRUE(decode_kafka_message(buf, out));
  EXPECT_FALSE(out.has_key);
  in.has_key = true;
  encode_kafka_message(in, buf);
  ASSERT_TRUE(decode_kafka_message(buf, out));
  EXPECT_TRUE(out.has_key);
  EXPECT_EQ(out.key, "");
}

TEST(KafkaMessage, DamagedInputIsRejectedNeverOverread) {
  KafkaMessageView in;
  in.topic = "topic";
  in.payload = "payload";
  in.headers[0] = {"h", "v"};
  in.header_count = 1;
  std::string buf;
  encode_kafka_message(in, buf);
  KafkaMessageView out;
  for (std::size_t cut = 0; cut < buf.size(); ++cut) {
    EXPECT_FALSE(decode_kafka_message(std::string_view(buf).substr(0, cut), out)) << cut;
  }
  EXPECT_FALSE(decode_kafka_message(buf + "x", out));
  std::string bad_version = buf;
  bad_version[0] = 9;
  EXPECT_FALSE(decode_kafka_message(bad_version, out));
}

}  // namespace
}  // namespace offpath
