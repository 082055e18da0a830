// The internal JSON helpers: byte offsets to line:column, nlohmann's reason text, typed fields.
#include "data/json_file.hpp"
#include "data_test_util.hpp"

#include <gtest/gtest.h>

namespace vlbench::data {
namespace {

using nlohmann::json;
using testing::throws_error;

TEST(JsonFile, TextPosition) {
  const std::string_view text = "ab\ncde\n\nf";
  const std::pair<std::size_t, std::pair<std::size_t, std::size_t>> cases[] = {
      {0, {1, 1}}, {1, {1, 2}}, {2, {1, 3}},  // the newline ends line 1
      {3, {2, 1}}, {5, {2, 3}}, {7, {3, 1}},
      {8, {4, 1}}, {9, {4, 2}}, {99, {4, 2}},  // past the end: the end
  };
  for (const auto& [index, expected] : cases) {
    const TextPosition p = text_position(text, index);
    EXPECT_EQ(p.line, expected.first) << index;
    EXPECT_EQ(p.column, expected.second) << index;
  }
  EXPECT_EQ(text_position("", 0).line, 1u);
  EXPECT_EQ(text_position("", 0).column, 1u);
}

TEST(JsonFile, ParseErrorReasonDropsThePrefix) {
  try {
    const json parsed = json::parse("{\n  \"a\" 1}");
    FAIL() << "parsed: " << parsed.dump();
  } catch (const json::parse_error& error) {
    const std::string reason = parse_error_reason(error);
    EXPECT_EQ(reason.rfind("syntax error while parsing object separator", 0), 0u) << reason;
    EXPECT_EQ(reason.find("[json.exception"), std::string::npos) << reason;
    EXPECT_TRUE(
        throws_error([&] { fail_json_syntax("f.json", "{\n  \"a\" 1}", error.byte, reason, 10); },
                     {"f.json:11:7: invalid JSON: syntax error while parsing object separator"}));
  }
}

TEST(JsonFile, TypedFields) {
  const json object = json::parse(
      R"({"s": "x", "i": -3, "u": 18446744073709551615, "f": 1.5, "a": [1], "b": true,
          "n": null, "id": 7})");
  EXPECT_EQ(require_string(object, "s", "W"), "x");
  EXPECT_EQ(require_integer(object, "i", "W"), -3);
  EXPECT_EQ(require_array(object, "a", "W").size(), 1u);
  EXPECT_EQ(require_id(object, "id", "W"), "7");
  EXPECT_EQ(require_id(object, "s", "W"), "x");
  EXPECT_TRUE(throws_error([&] { require_string(object, "i", "W"); },
                           {"W: field 'i' must be a string, got a number"}));
  EXPECT_TRUE(throws_error([&] { require_integer(object, "f", "W"); },
                           {"W: field 'f' must be an integer, got a number"}));
  EXPECT_TRUE(
      throws_error([&] { require_integer(object, "u", "W"); }, {"W: field 'u' is too large"}));
  EXPECT_TRUE(throws_error([&] { require_array(object, "b", "W"); },
                           {"W: field 'b' must be a list, got true/false"}));
  EXPECT_TRUE(throws_error([&] { require_string(object, "n", "W"); },
                           {"W: field 'n' must be a string, got null"}));
  EXPECT_TRUE(throws_error([&] { require_field(object, "zz", "W"); }, {"W: field 'zz' missing"}));
  EXPECT_TRUE(throws_error([&] { require_field(json::array(), "s", "W"); },
                           {"W: expected a JSON object, got a list"}));
}

TEST(JsonFile, JsonLinesCountsEveryLine) {
  std::vector<std::pair<std::size_t, int>> seen;
  for_each_json_line("x.jsonl", "1\n\n  \r\n2\r\n \t\n3", [&](json& value, std::size_t line) {
    seen.emplace_back(line, value.get<int>());
  });
  EXPECT_EQ(seen, (std::vector<std::pair<std::size_t, int>>{{1, 1}, {4, 2}, {6, 3}}));
  EXPECT_TRUE(throws_error(
      [] { for_each_json_line("x.jsonl", "1\n\n[1,,2]\n", [](json&, std::size_t) {}); },
      {"x.jsonl:3:4: invalid JSON: syntax error while parsing value"}));
}

}  // namespace
}  // namespace vlbench::data
