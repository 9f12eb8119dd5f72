// A small streaming JSON builder for responses: appends straight into one std::string, inserts
// commas itself and escapes strings per RFC 8259. Money goes in as pre-formatted decimal text
// (QuotedRaw / Decimal), never through a double. Not thread-safe: one writer per response.
// Misuse (a value where a key is due, unbalanced End*) is a programming error caught by assert.
#pragma once

#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "rating/decimal.h"

namespace meterd::http {

class JsonWriter {
 public:
  // Containers deeper than this are a bug in the caller, not data: responses are shallow.
  static constexpr int kMaxDepth = 32;

  // Writes into a string the writer owns; take it with Release() or view it with view().
  JsonWriter() : out_(&own_) {}
  // Appends to *out, which must outlive the writer. Useful to reuse a buffer's capacity.
  explicit JsonWriter(std::string* out) : out_(out) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& BeginObject() { return Open('{', Frame::kObject); }
  JsonWriter& EndObject() { return Close('}', Frame::kObject); }
  JsonWriter& BeginArray() { return Open('[', Frame::kArray); }
  JsonWriter& EndArray() { return Close(']', Frame::kArray); }

  // The next value is this member of the enclosing object.
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Writes `json` verbatim as one value. REQUIRES: json is a complete, valid JSON value.
  JsonWriter& RawValue(std::string_view json);
  // Writes "text" without escaping. REQUIRES: text needs no escaping (digits, '-', '.', ASCII
  // letters): decimal amounts, dates and timestamps formatted by the rating library.
  JsonWriter& QuotedRaw(std::string_view text);
  // A money/quantity/rate as a JSON string with exactly 9 fractional digits ("12.500000000").
  JsonWriter& Decimal(rating::Decimal value) {
    BeforeValue();
    out_->push_back('"');
    value.AppendTo(out_);
    out_->push_back('"');
    return *this;
  }

  // Key + value in one call; the overload set is closed so a string literal never turns into a
  // bool and an int never becomes ambiguous.
  JsonWriter& Field(std::string_view key, std::string_view v) { return Key(key).String(v); }
  JsonWriter& Field(std::string_view key, const char* v) { return Key(key).String(v); }
  JsonWriter& Field(std::string_view key, const std::string& v) { return Key(key).String(v); }
  JsonWriter& Field(std::string_view key, bool v) { return Key(key).Bool(v); }
  JsonWriter& Field(std::string_view key, std::nullptr_t) { return Key(key).Null(); }
  JsonWriter& Field(std::string_view key, rating::Decimal v) { return Key(key).Decimal(v); }
  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonWriter& Field(std::string_view key, T v) {
    Key(key);
    if constexpr (std::is_signed_v<T>) {
      return Int(v);
    } else {
      return Uint(v);
    }
  }

  // True once the top-level value is complete and every container is closed.
  bool complete() const { return depth_ == 0 && wrote_top_; }
  std::string_view view() const { return *out_; }
  // Moves the owned output out. REQUIRES: default-constructed writer.
  std::string Release() {
    assert(out_ == &own_);
    return std::move(own_);
  }

  // Appends `value` to *out as a quoted JSON string: escapes '"', '\\' and every control
  // character, and replaces ill-formed UTF-8 with U+FFFD so the output is always valid JSON.
  static void AppendQuoted(std::string_view value, std::string* out);

 private:
  enum class Frame : uint8_t { kObject, kArray };

  JsonWriter& Open(char c, Frame f);
  JsonWriter& Close(char c, Frame f);
  void BeforeValue();

  std::string own_;
  std::string* out_;
  Frame frames_[kMaxDepth] = {};
  bool has_member_[kMaxDepth] = {};  // whether the container needs a comma before the next item
  int depth_ = 0;
  bool after_key_ = false;
  bool wrote_top_ = false;
};

}  // namespace meterd::http
