#include "http2/hpack_decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/h2_builder.hpp"

namespace offpath::http2 {
namespace {

using test::Bytes;

class Fields : public HeaderSink {
 public:
  void on_header(std::string_view name, std::string_view value) override {
    got.emplace_back(std::string(name) + ": " + std::string(value));
  }
  std::vector<std::string> got;
};

const test::Headers kFirst = {{":method", "GET"},
                              {":scheme", "http"},
                              {":path", "/catalog/items"},
                              {":authority", "svc.local"},
                              {"user-agent", "grpc-go/1.60"}};
// The second block repeats what the first put in the dynamic table, and adds new fields.
const test::Headers kSecond = {{":method", "POST"},
                               {":scheme", "http"},
                               {":path", "/catalog/items"},
                               {":authority", "svc.local"},
                               {"user-agent", "grpc-go/1.60"},
                               {"x-request-id", "r-2"},
                               {"content-type", "application/grpc"}};

// After a desync (the first block was never seen), fields of the static table and
// literals are still read; those that index the dynamic table are skipped.
TEST(Http2Hpack, DesynchronisedDecoderReadsWhatNeedsNoDynamicTable) {
  test::Deflater enc;
  const Bytes first = enc.block(kFirst);
  const Bytes second = enc.block(kSecond);
  HpackDecoder synced;
  Fields a;
  ASSERT_TRUE(synced.decode(first, true, a));
  Fields b;
  ASSERT_TRUE(synced.decode(second, true, b));
  EXPECT_EQ(b.got.size(), kSecond.size());

  HpackDecoder lost;
  lost.desync();
  Fields c;
  EXPECT_FALSE(lost.decode(second, true, c));
  // nghttp2 never indexes :path: a literal with a static name, readable.
  EXPECT_EQ(c.got, (std::vector<std::string>{":method: POST", ":scheme: http",
                                             ":path: /catalog/items", "x-request-id: r-2",
                                             "content-type: application/grpc"}));
  EXPECT_TRUE(lost.desynced());
  // A block with no dynamic reference decodes in full, and says so.
  test::Deflater fresh;
  Fields d;
  EXPECT_TRUE(lost.decode(fresh.block({{":status", "404"}, {"server", "nginx"}}), true, d));
  EXPECT_EQ(d.got, (std::vector<std::string>{":status: 404", "server: nginx"}));
}

// The fallback keeps no table: an entry it saw added is not used to resolve an index,
// whose meaning depends on entries it never saw.
TEST(Http2Hpack, DesynchronisedDecoderNeverResolvesDynamicIndexes) {
  test::Deflater enc;
  enc.block({{"x-unseen", "1"}});
  const Bytes seen = enc.block({{"x-seen", "2"}});
  const Bytes both = enc.block({{"x-seen", "2"}, {"x-unseen", "1"}});
  HpackDecoder lost;
  lost.desync();
  Fields a;
  EXPECT_TRUE(lost.decode(seen, true, a));
  EXPECT_EQ(a.got, std::vector<std::string>{"x-seen: 2"});
  Fields b;
  EXPECT_FALSE(lost.decode(both, true, b));
  EXPECT_TRUE(b.got.empty());
}

// Fields split across fragments (HEADERS + CONTINUATION) at every byte.
TEST(Http2Hpack, DesynchronisedDecoderAcrossFragments) {
  test::Deflater enc;
  enc.block(kFirst);
  const Bytes second = enc.block(kSecond);
  for (std::size_t cut = 0; cut <= second.size(); ++cut) {
    HpackDecoder lost;
    lost.desync();
    Fields f;
    const bool a = lost.decode(ByteView(second).first(cut), false, f);
    const bool b = lost.decode(ByteView(second).subspan(cut), true, f);
    EXPECT_FALSE(a && b);
    EXPECT_EQ(f.got.size(), 5u) << "cut at " << cut;
  }
}

// State lost inside a block (a gap between HEADERS and CONTINUATION): the rest of the
// block is not decoded (its field boundaries are unknown); the next block is.
TEST(Http2Hpack, StateLostInsideABlockSkipsItsRest) {
  test::Deflater enc;
  const Bytes first = enc.block(kFirst);
  HpackDecoder dec;
  Fields f;
  ASSERT_TRUE(dec.decode(ByteView(first).first(3), false, f));
  dec.desync();
  EXPECT_FALSE(dec.decode(ByteView(first).subspan(5), true, f));
  // :method and :scheme (one static byte each) came before the loss; :path had begun.
  EXPECT_EQ(f.got, (std::vector<std::string>{":method: GET", ":scheme: http"}));
  Fields g;
  EXPECT_TRUE(dec.decode(Bytes{0x88}, true, g));
  EXPECT_EQ(g.got, std::vector<std::string>{":status: 200"});
}

TEST(Http2Hpack, FieldExtent) {
  EXPECT_EQ(hpack_field_extent(Bytes{0x82}).kind, HpackField::Static);
  EXPECT_EQ(hpack_field_extent(Bytes{0x82}).size, 1u);
  EXPECT_EQ(hpack_field_extent(Bytes{0xbe}).kind, HpackField::Dynamic);  // index 62
  EXPECT_EQ(hpack_field_extent(Bytes{0x80}).kind, HpackField::Malformed);
  EXPECT_EQ(hpack_field_extent(Bytes{0x3f, 0xe1, 0x1f}).kind, HpackField::TableSizeUpdate);
  EXPECT_EQ(hpack_field_extent(Bytes{0x3f, 0xe1, 0x1f}).size, 3u);
  // Literal, new name "ab", value "xyz": 1 + 3 + 4 bytes; cut: size known once lengths are.
  const Bytes lit = {0x40, 0x02, 'a', 'b', 0x03, 'x', 'y', 'z'};
  EXPECT_EQ(hpack_field_extent(lit).size, 8u);
  EXPECT_EQ(hpack_field_extent(ByteView(lit).first(6)).size, 8u);
  EXPECT_EQ(hpack_field_extent(ByteView(lit).first(3)).size, 0u);
  // Literal whose name is dynamic entry 70: its value is there, its name is not known.
  const Bytes dyn = {0x0f, 0x37, 0x01, 'v'};
  EXPECT_EQ(hpack_field_extent(dyn).kind, HpackField::Dynamic);
  EXPECT_EQ(hpack_field_extent(dyn).size, 4u);
  EXPECT_EQ(hpack_field_extent(Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}).kind,
            HpackField::Malformed);
}

}  // namespace
}  // namespace offpath::http2
