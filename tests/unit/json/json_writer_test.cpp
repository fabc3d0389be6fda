// JsonWriter: escaping (quotes, backslash, control characters, DEL), invalid UTF-8 to
// U+FFFD, valid multi-byte sequences kept, is_text, base64, and comma placement. Every
// output is also checked with the strict reader of tests/support/json.hpp.
#include "output/json_writer.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "output/base64.hpp"
#include "support/json.hpp"

namespace offpath {
namespace {

using testing::parse_json;

std::string escaped(std::string_view in) {
  std::string out;
  JsonWriter::escape(out, in);
  return out;
}

struct EscapeCase {
  const char* description;
  std::string in;
  std::string out;
};

const std::string kFffd = "\xEF\xBF\xBD";

TEST(JsonWriter, Escaping) {
  const EscapeCase cases[] = {
      {"plain ascii", "hello /path?q=1", "hello /path?q=1"},
      {"quote", "say \"hi\"", "say \\\"hi\\\""},
      {"backslash", "C:\\dir", "C:\\\\dir"},
      {"newline, return, tab", "a\nb\rc\td", "a\\nb\\rc\\td"},
      {"NUL", std::string("a\0b", 3), "a\\u0000b"},
      {"other control characters", "\x01\x08\x0c\x1f", "\\u0001\\u0008\\u000c\\u001f"},
      {"2-byte UTF-8 kept", "caf\xC3\xA9", "caf\xC3\xA9"},
      {"3-byte UTF-8 kept", "\xE2\x82\xAC 5", "\xE2\x82\xAC 5"},
      {"4-byte UTF-8 kept", "\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
      {"lone continuation byte", "a\x80z", "a" + kFffd + "z"},
      {"overlong 2-byte (C0 AF)", "\xC0\xAF", kFffd + kFffd},
      {"overlong 3-byte (E0 80 AF)", "\xE0\x80\xAF", kFffd + kFffd + kFffd},
      {"overlong 4-byte (F0 80 80 AF)", "\xF0\x80\x80\xAF", kFffd + kFffd + kFffd + kFffd},
      {"UTF-16 surrogate (ED A0 80)", "\xED\xA0\x80", kFffd + kFffd + kFffd},
      {"above U+10FFFF (F4 90 80 80)", "\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},
      {"F5 lead byte", "\xF5\x80", kFffd + kFffd},
      {"truncated 2-byte at end", "ok\xC3", "ok" + kFffd},
      {"truncated 3-byte at end", "ok\xE2\x82", "ok" + kFffd + kFffd},
      {"truncated 4-byte then ascii", "\xF0\x9F\x98!", kFffd + kFffd + kFffd + "!"},
      {"0xFF", "\xFF", kFffd},
  };
  for (const EscapeCase& c : cases) {
    SCOPED_TRACE(c.description);
    EXPECT_EQ(escaped(c.in), c.out);
    std::string doc = "\"" + escaped(c.in) + "\"";
    std::string err;
    EXPECT_TRUE(parse_json(doc, &err)) << err;
  }
}

// json_writer.cpp escapes DEL (0x7F) like a control character (it has a branch for it).
TEST(JsonWriter, EscapesDel) { EXPECT_EQ(escaped("x\x7fy"), "x\\u007fy"); }

TEST(JsonWriter, EscapedEveryByteIsValidJson) {
  // Every single byte, and every pair of bytes, gives a valid JSON string.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      std::string in{static_cast<char>(a), static_cast<char>(b)};
      std::string doc = "\"" + escaped(in) + "\"";
      std::string err;
      ASSERT_TRUE(parse_json(doc, &err)) << a << "," << b << ": " << err;
    }
  }
}

TEST(JsonWriter, IsText) {
  EXPECT_TRUE(JsonWriter::is_text(""));
  EXPECT_TRUE(JsonWriter::is_text("plain\r\n\ttext"));
  EXPECT_TRUE(JsonWriter::is_text("caf\xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(JsonWriter::is_text(std::string("a\0b", 3)));
  EXPECT_FALSE(JsonWriter::is_text("\x89PNG\r\n"));
  EXPECT_FALSE(JsonWriter::is_text("\xC3"));
  EXPECT_FALSE(JsonWriter::is_text("\xED\xA0\x80"));
}

// The escaper and is_text() look at eight bytes at a time: every byte that needs care is
// put at every position of a 24-byte plain string (start, inside a word, across words,
// in the tail) and the result compared with the escape of the three pieces one by one.
TEST(JsonWriter, EscapeAndIsTextAtEveryPosition) {
  const std::string specials[] = {"\"", "\\", "\n", std::string("\0", 1), "\x1f", "\x7f",
                                  "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xC3",
                                  "\xFF", "\xED\xA0\x80"};
  const std::string plain = "abcdefghijklmnopqrstuvwx";
  for (const std::string& special : specials) {
    for (std::size_t at = 0; at <= plain.size(); ++at) {
      const std::string in = plain.substr(0, at) + special + plain.substr(at);
      const std::string want =
          escaped(plain.substr(0, at)) + escaped(special) + escaped(plain.substr(at));
      const std::string where = ::testing::PrintToString(special) + " at " + std::to_string(at);
      EXPECT_EQ(escaped(in), want) << where;
      EXPECT_EQ(JsonWriter::is_text(in), JsonWriter::is_text(special)) << where;
    }
  }
}

TEST(JsonWriter, TextWritesOnlyText) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("a");
  EXPECT_TRUE(w.text("caf\xC3\xA9 \"q\"\n"));
  w.key("b");
  EXPECT_FALSE(w.text(std::string("bin\0ary", 7)));  // nothing written, key still open
  w.string("base64");
  w.key("c");
  EXPECT_FALSE(w.text("\x89PNG"));
  w.null();
  w.end_object();
  EXPECT_EQ(out, "{\"a\":\"caf\xC3\xA9 \\\"q\\\"\\n\",\"b\":\"base64\",\"c\":null}");
  std::string err;
  EXPECT_TRUE(parse_json(out, &err)) << err;

  std::string list;
  JsonWriter a(list);
  a.begin_array();
  EXPECT_FALSE(a.text("\xFF"));  // the comma state is restored too
  EXPECT_TRUE(a.text("x"));
  EXPECT_TRUE(a.text(""));
  a.end_array();
  EXPECT_EQ(list, "[\"x\",\"\"]");
}

TEST(JsonWriter, Base64) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}, {std::string("\x00\xff\xfe", 3), "AP/+"},
  };
  for (const auto& [in, out] : cases) {
    std::string b;
    base64_encode(in, b);
    EXPECT_EQ(b, out);
  }
}

TEST(JsonWriter, StructureAndCommas) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("a", 1);
  w.field("b", "two");
  w.key("c");
  w.begin_array();
  w.number(std::uint64_t{18446744073709551615u});
  w.number(std::int64_t{-5});
  w.boolean(true);
  w.null();
  w.begin_object();
  w.end_object();
  w.begin_array();
  w.end_array();
  w.end_array();
  w.key("d");
  w.fixed(1.23456, 3);
  w.key("e");
  w.fixed(std::numeric_limits<double>::infinity(), 3);
  w.field("k\"ey", true);
  w.end_object();
  EXPECT_EQ(out,
            "{\"a\":1,\"b\":\"two\",\"c\":[18446744073709551615,-5,true,null,{},[]],"
            "\"d\":1.235,\"e\":null,\"k\\\"ey\":true}");
  std::string err;
  EXPECT_TRUE(parse_json(out, &err)) << err;
}

TEST(JsonReaderSelfCheck, RejectsInvalidDocuments) {
  for (std::string_view bad : {"", "{", "{\"a\":}", "[1,]", "\"\x01\"", "\"\xC3\"", "01", "1.",
                               "{\"a\":1}x", "'x'", "\"\\x\"", "nul"}) {
    EXPECT_FALSE(parse_json(bad)) << bad;
  }
  for (std::string_view good : {"{}", "[]", "0", "-1.5e+3", "\"\\u00e9\\ud83d\\ude00\"", "null",
                                " {\"a\" : [true, false, null]} "}) {
    EXPECT_TRUE(parse_json(good)) << good;
  }
  auto v = parse_json("{\"a\":{\"b\":[10,\"x\"]}}");
  ASSERT_TRUE(v);
  const testing::JsonValue* x = v->path("a.b.1");
  const testing::JsonValue* ten = v->path("a.b.0");
  ASSERT_TRUE(x != nullptr && ten != nullptr);
  EXPECT_EQ(x->text, "x");
  EXPECT_EQ(ten->text, "10");
  EXPECT_EQ(v->path("a.c"), nullptr);
}

}  // namespace
}  // namespace offpath
