// Small building blocks shared by the NDJSON parsers of daemon/ingest: padded input buffers,
// NDJSON line splitting, the JSON number grammar, ASCII case folding, and a strict validator for
// simdjson on-demand values we do not otherwise read (on-demand skips what it is not asked for).
// Everything here is a pure function or a value type; thread-compatible.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace meterd::ingest {

// Bytes that must be readable after the end of any input handed to simdjson. Equal to
// SIMDJSON_PADDING (checked in json_fields.cc); spelled out so callers need not know simdjson.
inline constexpr size_t kJsonPadding = 64;

// The nesting limit for every JSON body we accept (objects and arrays, the top object is 1).
inline constexpr int kMaxJsonDepth = 32;

// Owns a copy of `text` followed by kJsonPadding bytes, so view() satisfies the padding
// precondition of UsageParser::Parse. For tests, tools and callers that do not already hold a
// padded buffer; the HTTP layer pads its body buffers itself.
class PaddedBuffer {
 public:
  PaddedBuffer() = default;
  explicit PaddedBuffer(std::string_view text) { Assign(text); }
  PaddedBuffer(const PaddedBuffer&) = delete;
  PaddedBuffer& operator=(const PaddedBuffer&) = delete;

  // Replaces the content; reuses the allocation when it is large enough.
  void Assign(std::string_view text);
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;  // excluding the padding
};

// Splits an NDJSON body on '\n'. A line's trailing '\r' is dropped (CRLF bodies). The last line
// need not end with '\n'; a body ending with '\n' has no extra empty line after it.
class NdjsonLines {
 public:
  explicit NdjsonLines(std::string_view body) : body_(body) {}
  // Stores the next line (without its terminator) and its 1-based number; false at the end.
  bool Next(std::string_view* line, uint32_t* number);

 private:
  std::string_view body_;
  size_t pos_ = 0;
  uint32_t number_ = 0;
};

// True when `text` holds only JSON whitespace (space, tab, CR, LF), including when empty.
bool IsBlank(std::string_view text);
// Drops JSON whitespace at both ends (simdjson raw tokens carry the spaces that follow them).
std::string_view TrimJsonWhitespace(std::string_view text);
// The JSON number grammar, RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view text);

// ASCII-only case folding into `dst` (which must hold src.size() bytes); other bytes, including
// every byte of a multi-byte UTF-8 sequence, are copied unchanged.
void CopyAsciiLower(std::string_view src, char* dst);
void CopyAsciiUpper(std::string_view src, char* dst);

// Why a JSON line or body was not well-formed JSON, as a short human-readable sentence.
std::string_view JsonErrorDetail(simdjson::error_code error);

// Walks `value` completely and checks it is well-formed JSON (valid escapes, no unpaired
// surrogates, numbers in the JSON grammar, literals spelled right, nesting at most
// kMaxJsonDepth counting `depth` as the value's own level). On-demand parsing validates only what
// is read, so every value we do not need must still go through this to reject bad JSON.
// Returns SUCCESS or the first error (DEPTH_ERROR, NUMBER_ERROR, STRING_ERROR, ...).
simdjson::error_code ValidateJsonValue(simdjson::ondemand::value value, int depth);

// Reads a scalar JSON value as it is used for exact decimals: a number's raw text (checked
// against the JSON number grammar) or a string's decoded content. `kind` tells which was found;
// for null, booleans, objects and arrays the value is still validated and `text` left empty.
enum class ScalarKind : uint8_t { kNull, kString, kNumber, kBoolean, kObject, kArray };
simdjson::error_code ReadScalar(simdjson::ondemand::value value, int depth, ScalarKind* kind,
                                std::string_view* text);

}  // namespace meterd::ingest
