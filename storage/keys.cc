#include "storage/keys.h"

#include <cstring>

namespace meterd::storage {
namespace {

constexpr char kTerminator = '\x00';
constexpr char kTruncated = '\x02';  // 0x00 0x02 starts the hash of a truncated string
constexpr size_t kHashBytes = 16;

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t Fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

inline uint64_t LoadLe64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

// MurmurHash3 x64-128 (public domain, Austin Appleby), written out byte-order independently so
// stored keys do not depend on the host. Collisions only merge keys whose long strings also share
// their whole kept prefix; the daemon detects that by comparing the full string in the value.
KeyHash HashForKey(std::string_view bytes) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t len = bytes.size();
  const size_t nblocks = len / 16;
  uint64_t h1 = 0x6d657465726421ULL;  // fixed seed: part of the on-disk format
  uint64_t h2 = 0x6d657465726421ULL;
  const uint64_t c1 = 0x87c37b91114253d5ULL;
  const uint64_t c2 = 0x4cf5ad432745937fULL;
  for (size_t i = 0; i < nblocks; ++i) {
    uint64_t k1 = LoadLe64(data + i * 16);
    uint64_t k2 = LoadLe64(data + i * 16 + 8);
    k1 *= c1;
    k1 = Rotl(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = Rotl(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = Rotl(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = Rotl(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const unsigned char* tail = data + nblocks * 16;
  uint64_t k1 = 0;
  uint64_t k2 = 0;
  const size_t rest = len & 15;
  for (size_t i = rest; i > 8; --i) k2 = (k2 << 8) | tail[i - 1];
  if (rest > 8) {
    k2 *= c2;
    k2 = Rotl(k2, 33);
    k2 *= c1;
    h2 ^= k2;
  }
  for (size_t i = (rest < 8 ? rest : 8); i > 0; --i) k1 = (k1 << 8) | tail[i - 1];
  if (rest > 0) {
    k1 *= c1;
    k1 = Rotl(k1, 31);
    k1 *= c2;
    h1 ^= k1;
  }
  h1 ^= len;
  h2 ^= len;
  h1 += h2;
  h2 += h1;
  h1 = Fmix(h1);
  h2 = Fmix(h2);
  h1 += h2;
  h2 += h1;
  return KeyHash{h1, h2};
}

bool KeyBuilder::Reserve(size_t n) {
  if (!ok_ || n > kMaxKeySize - size_) {
    ok_ = false;
    return false;
  }
  return true;
}

KeyBuilder& KeyBuilder::AddU8(uint8_t v) {
  if (Reserve(1)) buf_[size_++] = static_cast<char>(v);
  return *this;
}

KeyBuilder& KeyBuilder::AddU32(uint32_t v) {
  if (Reserve(4)) {
    PutU32BE(v, buf_ + size_);
    size_ += 4;
  }
  return *this;
}

KeyBuilder& KeyBuilder::AddU64(uint64_t v) {
  if (Reserve(8)) {
    PutU64BE(v, buf_ + size_);
    size_ += 8;
  }
  return *this;
}

KeyBuilder& KeyBuilder::AddBytes(std::string_view raw) {
  if (Reserve(raw.size())) {
    std::memcpy(buf_ + size_, raw.data(), raw.size());
    size_ += raw.size();
  }
  return *this;
}

KeyBuilder& KeyBuilder::AddString(std::string_view s) {
  if (s.find(kTerminator) != std::string_view::npos) {
    ok_ = false;
    return *this;
  }
  if (Reserve(s.size() + 1)) {
    std::memcpy(buf_ + size_, s.data(), s.size());
    size_ += s.size();
    buf_[size_++] = kTerminator;
  }
  return *this;
}

KeyBuilder& KeyBuilder::AddTrailingString(std::string_view s) {
  if (!ok_) return *this;
  if (s.find(kTerminator) != std::string_view::npos) {
    ok_ = false;
    return *this;
  }
  const size_t room = kMaxKeySize - size_;
  if (s.size() + 1 <= room) return AddString(s);
  if (room < 2 + kHashBytes + 1) {  // not even one byte of prefix: a layout bug
    ok_ = false;
    return *this;
  }
  const size_t kept = room - 2 - kHashBytes;
  truncated_ = true;
  std::memcpy(buf_ + size_, s.data(), kept);
  size_ += kept;
  buf_[size_++] = kTerminator;
  buf_[size_++] = kTruncated;
  const KeyHash h = HashForKey(s);
  PutU64BE(h.hi, buf_ + size_);
  PutU64BE(h.lo, buf_ + size_ + 8);
  size_ += kHashBytes;
  return *this;
}

bool KeyReader::ReadU8(uint8_t* v) {
  if (!ok_ || key_.size() - pos_ < 1) return Fail();
  *v = static_cast<uint8_t>(key_[pos_++]);
  return true;
}

bool KeyReader::ReadU32(uint32_t* v) {
  if (!ok_ || key_.size() - pos_ < 4) return Fail();
  *v = GetU32BE(key_.data() + pos_);
  pos_ += 4;
  return true;
}

bool KeyReader::ReadU64(uint64_t* v) {
  if (!ok_ || key_.size() - pos_ < 8) return Fail();
  *v = GetU64BE(key_.data() + pos_);
  pos_ += 8;
  return true;
}

bool KeyReader::ReadBytes(size_t n, std::string_view* raw) {
  if (!ok_ || key_.size() - pos_ < n) return Fail();
  *raw = key_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool KeyReader::ReadString(std::string* s) {
  if (!ok_) return false;
  const size_t end = key_.find(kTerminator, pos_);
  if (end == std::string_view::npos) return Fail();
  s->assign(key_.data() + pos_, end - pos_);
  pos_ = end + 1;
  return true;
}

bool KeyReader::ReadTrailingString(std::string* s, bool* truncated) {
  *truncated = false;
  if (!ReadString(s)) return false;
  // Only the last field of a key can be truncated: its terminator is then followed by the
  // marker and the hash, and by nothing else.
  if (pos_ < key_.size() && key_[pos_] == kTruncated && key_.size() - pos_ == 1 + kHashBytes) {
    pos_ = key_.size();
    *truncated = true;
  }
  return true;
}

void PutU32BE(uint32_t v, char* out) {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
}

void PutU64BE(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
}

uint32_t GetU32BE(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

uint64_t GetU64BE(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::string EncodeU64BE(uint64_t v) {
  std::string out(8, '\0');
  PutU64BE(v, out.data());
  return out;
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xFF) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace meterd::storage
