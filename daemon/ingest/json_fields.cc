#include "daemon/ingest/json_fields.h"

#include <cstring>

namespace meterd::ingest {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING,
              "kJsonPadding must cover simdjson's padding");

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

void PaddedBuffer::Assign(std::string_view text) {
  if (text.size() > capacity_ || data_ == nullptr) {
    capacity_ = text.size();
    data_ = std::make_unique<char[]>(capacity_ + kJsonPadding);
  }
  if (!text.empty()) std::memcpy(data_.get(), text.data(), text.size());
  // Padding content is irrelevant to simdjson; spaces keep accidental reads harmless.
  std::memset(data_.get() + text.size(), ' ', kJsonPadding);
  size_ = text.size();
}

bool NdjsonLines::Next(std::string_view* line, uint32_t* number) {
  if (pos_ >= body_.size()) return false;
  const char* begin = body_.data() + pos_;
  size_t rest = body_.size() - pos_;
  const void* nl = std::memchr(begin, '\n', rest);
  size_t len = nl == nullptr ? rest : static_cast<size_t>(static_cast<const char*>(nl) - begin);
  pos_ += nl == nullptr ? rest : len + 1;
  if (len > 0 && begin[len - 1] == '\r') --len;
  *line = std::string_view(begin, len);
  *number = ++number_;
  return true;
}

namespace {
constexpr bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool IsBlank(std::string_view text) {
  for (char c : text) {
    if (!IsJsonSpace(c)) return false;
  }
  return true;
}

std::string_view TrimJsonWhitespace(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && IsJsonSpace(text[b])) ++b;
  while (e > b && IsJsonSpace(text[e - 1])) --e;
  return text.substr(b, e - b);
}

bool IsJsonNumber(std::string_view s) {
  size_t i = 0, n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  return i == n;
}

void CopyAsciiLower(std::string_view src, char* dst) {
  // Branch-free so the compiler vectorizes it; bytes >= 0x80 never fall in 'A'..'Z'.
  for (size_t i = 0; i < src.size(); ++i) {
    auto c = static_cast<unsigned char>(src[i]);
    dst[i] = static_cast<char>(c | (static_cast<unsigned char>(c - 'A') < 26 ? 0x20 : 0));
  }
}

void CopyAsciiUpper(std::string_view src, char* dst) {
  for (size_t i = 0; i < src.size(); ++i) {
    auto c = static_cast<unsigned char>(src[i]);
    dst[i] = static_cast<char>(c & (static_cast<unsigned char>(c - 'a') < 26 ? 0xDF : 0xFF));
  }
}

std::string_view JsonErrorDetail(error_code error) {
  switch (error) {
    case simdjson::UTF8_ERROR:
      return "not valid UTF-8";
    case simdjson::UNESCAPED_CHARS:
      return "a string contains an unescaped control character";
    case simdjson::UNCLOSED_STRING:
      return "a string is not closed";
    case simdjson::STRING_ERROR:
      return "a string has an invalid escape or an unpaired surrogate";
    case simdjson::NUMBER_ERROR:
      return "a number does not follow the JSON grammar";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "a literal is misspelled";
    case simdjson::DEPTH_ERROR:
      return "nested deeper than 32 levels";
    case simdjson::INCORRECT_TYPE:
      return "not a JSON object, or a value is malformed";
    case simdjson::EMPTY:
      return "empty document";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "truncated JSON: an object or array is not closed";
    case simdjson::TRAILING_CONTENT:
      return "content after the end of the JSON object";
    default:
      return "malformed JSON";
  }
}

error_code ValidateJsonValue(ondemand::value value, int depth) {
  ScalarKind kind;
  std::string_view text;
  return ReadScalar(value, depth, &kind, &text);
}

error_code ReadScalar(ondemand::value value, int depth, ScalarKind* kind, std::string_view* text) {
  *text = {};
  ondemand::json_type type;
  if (auto err = value.type().get(type)) return err;
  switch (type) {
    case ondemand::json_type::string:
      *kind = ScalarKind::kString;
      return value.get_string().get(*text);
    case ondemand::json_type::number:
      *kind = ScalarKind::kNumber;
      *text = TrimJsonWhitespace(value.raw_json_token());
      return IsJsonNumber(*text) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
    case ondemand::json_type::boolean: {
      *kind = ScalarKind::kBoolean;
      bool b;
      if (auto err = value.get_bool().get(b)) return err;
      *text = b ? "true" : "false";
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::null: {
      *kind = ScalarKind::kNull;
      bool is_null;
      if (auto err = value.is_null().get(is_null)) return err;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
    case ondemand::json_type::object: {
      *kind = ScalarKind::kObject;
      if (depth > kMaxJsonDepth) return simdjson::DEPTH_ERROR;
      ondemand::object object;
      if (auto err = value.get_object().get(object)) return err;
      for (auto field : object) {
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return err;
        ondemand::value child;
        if (auto err = field.value().get(child)) return err;
        if (auto err = ValidateJsonValue(child, depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::array: {
      *kind = ScalarKind::kArray;
      if (depth > kMaxJsonDepth) return simdjson::DEPTH_ERROR;
      ondemand::array array;
      if (auto err = value.get_array().get(array)) return err;
      for (auto element : array) {
        ondemand::value child;
        if (auto err = element.get(child)) return err;
        if (auto err = ValidateJsonValue(child, depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

}  // namespace meterd::ingest
