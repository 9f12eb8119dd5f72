// A small JSON document model for meterctl: parses server answers and operator files, and
// writes request bodies. Numbers are kept as their source text, never converted to double, so
// a rate or amount written as a JSON number reaches the server digit for digit (domain §4.5).
// Values are plain thread-compatible types; parsing allocates freely (a CLI, not a hot path).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace meterd::meterctl {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, Json>;

  Json() = default;
  static Json Null() { return Json(); }
  static Json Bool(bool b);
  // text must follow the JSON number grammar; it is kept verbatim.
  static Json Number(std::string text);
  static Json String(std::string s);
  static Json Array(std::vector<Json> items = {});
  static Json Object(std::vector<Member> members = {});

  // Strict RFC 8259: one value, optional surrounding whitespace, no trailing commas, \u
  // escapes with surrogate pairs decoded to UTF-8 (an unpaired surrogate is an error).
  static Result<Json> Parse(std::string_view text);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  bool as_bool() const { return type_ == Type::kBool && bool_; }
  // A string's value or a number's source text; empty for other types.
  const std::string& text() const { return text_; }
  const std::vector<Json>& items() const { return items_; }
  const std::vector<Member>& members() const { return members_; }

  // The member named key (the first, should a document repeat it); nullptr when absent or when
  // this is not an object.
  const Json* Find(std::string_view key) const;
  // The text of a string or number member; nullopt when absent, null, or of another type.
  std::optional<std::string> GetText(std::string_view key) const;

  void Append(Json item) { items_.push_back(std::move(item)); }
  void Set(std::string key, Json value);

  // Compact JSON; numbers as their source text.
  std::string Dump() const;
  // Indented by two spaces per level, one member per line.
  std::string Pretty() const;

 private:
  void DumpTo(std::string* out, int indent, int depth) const;

  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<Json> items_;
  std::vector<Member> members_;
};

// Appends s as a quoted JSON string (control characters and quotes escaped; UTF-8 kept).
void AppendJsonString(std::string* out, std::string_view s);
std::string QuoteJson(std::string_view s);

// True when text follows the JSON number grammar (what the server parses exactly).
bool IsJsonNumber(std::string_view text);

}  // namespace meterd::meterctl
