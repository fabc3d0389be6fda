#include "filter/status_set.hpp"

#include <gtest/gtest.h>

namespace offpath {
namespace {

std::vector<std::pair<int, int>> ranges(std::string_view text) {
  auto set = parse_status_set(text);
  EXPECT_TRUE(set.ok()) << text << ": " << (set.ok() ? "" : set.error().message);
  std::vector<std::pair<int, int>> out;
  if (set.ok()) {
    for (const auto& r : *set) out.emplace_back(r.lo, r.hi);
  }
  return out;
}

TEST(StatusSet, ParsesCodesRangesAndClasses) {
  using P = std::vector<std::pair<int, int>>;
  EXPECT_EQ(ranges("404"), (P{{404, 404}}));
  EXPECT_EQ(ranges("500-599"), (P{{500, 599}}));
  EXPECT_EQ(ranges("5xx"), (P{{500, 599}}));
  EXPECT_EQ(ranges("4XX"), (P{{400, 499}}));
  EXPECT_EQ(ranges("404, 500-502,1xx"), (P{{404, 404}, {500, 502}, {100, 199}}));
  EXPECT_EQ(ranges("503-503"), (P{{503, 503}}));
}

TEST(StatusSet, RejectsWhatIsNotAStatus) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "expected a status code (404), a range (500-599) or a class (5xx), got ''"},
      {"abc", "expected a status code (404), a range (500-599) or a class (5xx), got 'abc'"},
      {"99", "expected a status code (404), a range (500-599) or a class (5xx), got '99'"},
      {"1000", "expected a status code (404), a range (500-599) or a class (5xx), got '1000'"},
      {"0xx", "expected a status code (404), a range (500-599) or a class (5xx), got '0xx'"},
      {"5x", "expected a status code (404), a range (500-599) or a class (5xx), got '5x'"},
      {"500-", "expected a status code (404), a range (500-599) or a class (5xx), got '500-'"},
      {"404,", "expected a status code (404), a range (500-599) or a class (5xx), got ''"},
      {"599-500", "range '599-500' ends before it starts"},
      {"+40", "expected a status code (404), a range (500-599) or a class (5xx), got '+40'"},
  };
  for (const auto& c : cases) {
    auto set = parse_status_set(c.text);
    ASSERT_FALSE(set.ok()) << "accepted '" << c.text << "'";
    EXPECT_EQ(set.error().message, c.message) << c.text;
  }
}

TEST(StatusSet, RepeatedValuesAreOneList) {
  auto set = parse_status_sets({"404", "5xx"});
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(status_in(*set, 404));
  EXPECT_TRUE(status_in(*set, 599));
  EXPECT_FALSE(status_in(*set, 403));
  EXPECT_FALSE(status_in(*set, 600));
  EXPECT_FALSE(parse_status_sets({"404", "x"}).ok());
}

}  // namespace
}  // namespace offpath
