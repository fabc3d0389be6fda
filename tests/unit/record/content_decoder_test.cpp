#include "output/content_decoder.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace offpath {
namespace {

// Compresses with zlib: window_bits 15 + 16 = gzip, 15 = zlib, -15 = raw deflate.
std::string compress(const std::string& in, int window_bits) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

const std::string kText = [] {
  std::string s;
  for (int i = 0; i < 100; ++i) s += "line " + std::to_string(i) + " of the body\n";
  return s;
}();

struct Case {
  const char* description;
  const char* coding;
  int window_bits;
};

TEST(ContentDecoder, DecodesEachCodingCompletely) {
  const Case cases[] = {
      {"gzip", "gzip", 16 + 15},
      {"x-gzip alias, any case", "X-GZip", 16 + 15},
      {"deflate with its zlib header", "deflate", 15},
      {"deflate without the zlib header (raw)", "deflate", -15},
      {"identity around it is ignored", "identity, gzip", 16 + 15},
  };
  ContentDecoder d;
  for (const auto& c : cases) {
    std::string enc = compress(kText, c.window_bits);
    EXPECT_EQ(d.decode(c.coding, enc, 65536), DecodeStatus::Complete) << c.description;
    EXPECT_EQ(d.output(), kText) << c.description;
  }
}

TEST(ContentDecoder, StackedGzipGzip) {
  std::string twice = compress(compress(kText, 16 + 15), 16 + 15);
  ContentDecoder d;
  EXPECT_EQ(d.decode("gzip, gzip", twice, 65536), DecodeStatus::Complete);
  EXPECT_EQ(d.output(), kText);
  // deflate applied after gzip: undone in reverse order.
  std::string mixed = compress(compress(kText, 16 + 15), 15);
  EXPECT_EQ(d.decode("gzip,deflate", mixed, 65536), DecodeStatus::Complete);
  EXPECT_EQ(d.output(), kText);
}

TEST(ContentDecoder, OutputIsBounded) {
  std::string enc = compress(kText, 16 + 15);
  ContentDecoder d;
  EXPECT_EQ(d.decode("gzip", enc, 100), DecodeStatus::Partial);
  EXPECT_EQ(d.output(), kText.substr(0, 100));
  EXPECT_EQ(d.decode("gzip", enc, 0), DecodeStatus::Partial);
  EXPECT_EQ(d.output(), "");
}

TEST(ContentDecoder, PrefixOfTheStreamGivesWhatItHolds) {
  std::string enc = compress(kText, 16 + 15);
  ContentDecoder d;
  EXPECT_EQ(d.decode("gzip", std::string_view(enc).substr(0, enc.size() / 2), 65536),
            DecodeStatus::Partial);
  EXPECT_GT(d.output().size(), 0u);
  EXPECT_LT(d.output().size(), kText.size());
  EXPECT_EQ(d.output(), kText.substr(0, d.output().size()));
}

TEST(ContentDecoder, CorruptStreamIsReportedNotThrown) {
  std::string enc = compress(kText, 16 + 15);
  enc[12] = static_cast<char>(enc[12] ^ 0xff);
  enc[13] = static_cast<char>(enc[13] ^ 0xff);
  ContentDecoder d;
  EXPECT_EQ(d.decode("gzip", "this is not gzip at all", 1024), DecodeStatus::Corrupt);
  EXPECT_EQ(d.output(), "");
  EXPECT_EQ(d.decode("gzip", enc, 65536), DecodeStatus::Corrupt);
  // The decoder is usable again afterwards.
  EXPECT_EQ(d.decode("gzip", compress("ok", 16 + 15), 1024), DecodeStatus::Complete);
  EXPECT_EQ(d.output(), "ok");
}

TEST(ContentDecoder, UnsupportedAndIdentity) {
  ContentDecoder d;
  EXPECT_EQ(d.decode("br", "\x1b\x03", 1024), DecodeStatus::Unsupported);
  EXPECT_EQ(d.decode("gzip, br", "x", 1024), DecodeStatus::Unsupported);
  EXPECT_EQ(d.decode("zstd", "x", 1024), DecodeStatus::Unsupported);
  EXPECT_EQ(d.decode("identity", "plain", 1024), DecodeStatus::Identity);
  EXPECT_EQ(d.decode("", "plain", 1024), DecodeStatus::Identity);
  EXPECT_EQ(d.decode("gzip, gzip, gzip, gzip, gzip", "x", 1024), DecodeStatus::Unsupported);
}

}  // namespace
}  // namespace offpath
