#include "daemon/http/json_writer.h"

#include <array>
#include <charconv>

namespace meterd::http {
namespace {

// 0: copy as is; 1: ASCII that needs an escape; 2: first byte of a multi-byte sequence (or junk).
constexpr std::array<uint8_t, 256> MakeClassTable() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  for (int c = 0x80; c < 0x100; ++c) t[c] = 2;
  return t;
}
constexpr std::array<uint8_t, 256> kClass = MakeClassTable();

constexpr char kHex[] = "0123456789abcdef";

bool InRange(std::string_view s, size_t i, uint8_t lo, uint8_t hi) {
  if (i >= s.size()) return false;
  const auto c = static_cast<uint8_t>(s[i]);
  return c >= lo && c <= hi;
}

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629, table 3-7 of Unicode),
// or 0 when it is ill-formed: overlongs, surrogates and values above U+10FFFF are refused.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = static_cast<uint8_t>(s[i]);
  if (b >= 0xC2 && b <= 0xDF) return InRange(s, i + 1, 0x80, 0xBF) ? 2 : 0;
  if (b >= 0xE0 && b <= 0xEF) {
    const uint8_t lo = b == 0xE0 ? 0xA0 : 0x80;
    const uint8_t hi = b == 0xED ? 0x9F : 0xBF;
    return InRange(s, i + 1, lo, hi) && InRange(s, i + 2, 0x80, 0xBF) ? 3 : 0;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    const uint8_t lo = b == 0xF0 ? 0x90 : 0x80;
    const uint8_t hi = b == 0xF4 ? 0x8F : 0xBF;
    return InRange(s, i + 1, lo, hi) && InRange(s, i + 2, 0x80, 0xBF) &&
                   InRange(s, i + 3, 0x80, 0xBF)
               ? 4
               : 0;
  }
  return 0;
}

void AppendEscape(uint8_t c, std::string* out) {
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default: {
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(u, sizeof(u));
    }
  }
}

}  // namespace

void JsonWriter::AppendQuoted(std::string_view value, std::string* out) {
  out->reserve(out->size() + value.size() + 2);
  out->push_back('"');
  size_t run_start = 0;
  size_t i = 0;
  while (i < value.size()) {
    const auto c = static_cast<uint8_t>(value[i]);
    const uint8_t cls = kClass[c];
    if (cls == 0) {
      ++i;
      continue;
    }
    out->append(value.data() + run_start, i - run_start);
    if (cls == 1) {
      AppendEscape(c, out);
      ++i;
    } else if (const size_t len = Utf8SequenceLength(value, i); len != 0) {
      out->append(value.data() + i, len);
      i += len;
    } else {
      out->append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER, one per bad byte
      ++i;
    }
    run_start = i;
  }
  out->append(value.data() + run_start, value.size() - run_start);
  out->push_back('"');
}

void JsonWriter::BeforeValue() {
  if (depth_ == 0) {
    assert(!wrote_top_ && "a JSON document has one top-level value");
    wrote_top_ = true;
    return;
  }
  if (frames_[depth_ - 1] == Frame::kObject) {
    assert(after_key_ && "a value inside an object needs a Key() first");
    after_key_ = false;
    return;
  }
  if (has_member_[depth_ - 1]) out_->push_back(',');
  has_member_[depth_ - 1] = true;
}

JsonWriter& JsonWriter::Open(char c, Frame f) {
  BeforeValue();
  assert(depth_ < kMaxDepth && "JSON nesting too deep");
  frames_[depth_] = f;
  has_member_[depth_] = false;
  ++depth_;
  out_->push_back(c);
  return *this;
}

JsonWriter& JsonWriter::Close(char c, Frame f) {
  assert(depth_ > 0 && frames_[depth_ - 1] == f && "unbalanced End*()");
  assert(!after_key_ && "a Key() without a value");
  --depth_;
  out_->push_back(c);
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  assert(depth_ > 0 && frames_[depth_ - 1] == Frame::kObject && "Key() outside an object");
  assert(!after_key_ && "two Key() calls in a row");
  if (has_member_[depth_ - 1]) out_->push_back(',');
  has_member_[depth_ - 1] = true;
  AppendQuoted(key, out_);
  out_->push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendQuoted(value, out_);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), value);
  out_->append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), value);
  out_->append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_->append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_->append("null");
  return *this;
}

JsonWriter& JsonWriter::RawValue(std::string_view json) {
  BeforeValue();
  out_->append(json);
  return *this;
}

JsonWriter& JsonWriter::QuotedRaw(std::string_view text) {
  BeforeValue();
  out_->push_back('"');
  out_->append(text);
  out_->push_back('"');
  return *this;
}

}  // namespace meterd::http
