// Order-preserving composite keys for LMDB: big-endian integers, 0x00-terminated strings and
// fixed-width fields, so that byte-wise key order equals field-by-field order. KeyBuilder works
// in a fixed inline buffer (no allocation: it is used per event). Thread-compatible value types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace meterd::storage {

// LMDB's compile-time key limit in Debian's build (checked when an Env opens).
inline constexpr size_t kMaxKeySize = 511;

// The 16-byte hash that stands in for the tail of a truncated trailing string. It is part of the
// on-disk format: never change it without a schema version bump.
struct KeyHash {
  uint64_t hi = 0;
  uint64_t lo = 0;
};
KeyHash HashForKey(std::string_view bytes);

// Builds one key. Encodings (see docs/storage.md "Key encoding"):
//  - AddU8/U32/U64: big-endian, fixed width, so unsigned order is byte order.
//  - AddString: the bytes, then a 0x00 terminator, so a string sorts before every longer string
//    it is a prefix of. A string containing 0x00 is refused (!ok): escaping would make the
//    terminator ambiguous against a following field, and no identifier contains NUL. Fields
//    that may hold any byte (event ids) go last, raw, with AddBytes.
//  - AddTrailingString: like AddString, for the last field of a key whose total could exceed
//    kMaxKeySize (resource URIs reach 1024 bytes). When it does not fit, the field becomes
//    prefix 0x00 0x02 hash16: still unique, ordered exactly unless two strings share the whole
//    kept prefix. The value must then carry the full string (KeyReader reports truncation).
//  - AddBytes: raw fixed-width bytes (a hash, a uuid); the caller fixes the width per layout.
// A field that does not fit marks the builder !ok(); its key must not be used.
class KeyBuilder {
 public:
  KeyBuilder() = default;
  KeyBuilder(const KeyBuilder&) = delete;
  KeyBuilder& operator=(const KeyBuilder&) = delete;

  KeyBuilder& AddU8(uint8_t v);
  KeyBuilder& AddU32(uint32_t v);
  KeyBuilder& AddU64(uint64_t v);
  KeyBuilder& AddString(std::string_view s);
  KeyBuilder& AddTrailingString(std::string_view s);
  KeyBuilder& AddBytes(std::string_view raw);

  void Clear() {
    size_ = 0;
    ok_ = true;
    truncated_ = false;
  }
  bool ok() const { return ok_; }
  // An AddTrailingString kept only a prefix and the hash: the value must carry the string.
  bool truncated() const { return truncated_; }
  size_t size() const { return size_; }
  // Valid until the next mutation of this builder.
  std::string_view view() const { return std::string_view(buf_, size_); }

 private:
  bool Reserve(size_t n);

  char buf_[kMaxKeySize];
  size_t size_ = 0;
  bool ok_ = true;
  bool truncated_ = false;
};

// Reads a key field by field, in the order it was built. Each Read returns false (and leaves
// the reader failed) when the key does not hold such a field at the current position.
class KeyReader {
 public:
  explicit KeyReader(std::string_view key) : key_(key) {}

  bool ReadU8(uint8_t* v);
  bool ReadU32(uint32_t* v);
  bool ReadU64(uint64_t* v);
  bool ReadString(std::string* s);
  // Sets *truncated when the key kept only a prefix of the string (see AddTrailingString).
  bool ReadTrailingString(std::string* s, bool* truncated);
  bool ReadBytes(size_t n, std::string_view* raw);
  // The unread rest of the key (e.g. an event id stored raw as the last field).
  std::string_view Rest() const { return key_.substr(pos_); }
  bool done() const { return ok_ && pos_ == key_.size(); }
  bool ok() const { return ok_; }

 private:
  bool Fail() {
    ok_ = false;
    return false;
  }
  std::string_view key_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Fixed-width big-endian helpers for values and sequence keys.
void PutU32BE(uint32_t v, char* out);
void PutU64BE(uint64_t v, char* out);
uint32_t GetU32BE(const char* in);
uint64_t GetU64BE(const char* in);
std::string EncodeU64BE(uint64_t v);

// The smallest key strictly greater than every key starting with prefix, or "" when none
// exists (all 0xFF). Used as an exclusive scan end.
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace meterd::storage
