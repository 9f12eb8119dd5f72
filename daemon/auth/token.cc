#include "daemon/auth/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cassert>
#include <cstdlib>

#include "daemon/auth/base64.h"

namespace meterd::auth {
namespace {

void AsciiLowercase(std::string* s) {
  for (char& c : *s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

Status CheckLength(const std::string& value, size_t max, std::string_view field) {
  if (value.size() > max) {
    return Status::InvalidArgument(std::string(field) + ": at most " + std::to_string(max) +
                                   " bytes");
  }
  return Status::Ok();
}

void PutU16(std::string* out, size_t v) {
  assert(v <= 0xffff);
  out->push_back(static_cast<char>((v >> 8) & 0xff));
  out->push_back(static_cast<char>(v & 0xff));
}

void PutString(std::string* out, std::string_view s) {
  PutU16(out, s.size());
  out->append(s);
}

// A bounds-checked reader over the encoded bytes.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  bool Byte(uint8_t* v) {
    if (rest_.empty()) return false;
    *v = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return true;
  }
  bool Bytes(std::span<uint8_t> out) {
    if (rest_.size() < out.size()) return false;
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(rest_[i]);
    rest_.remove_prefix(out.size());
    return true;
  }
  bool I64(int64_t* v) {
    uint8_t raw[8];
    if (!Bytes(raw)) return false;
    uint64_t u = 0;
    for (uint8_t b : raw) u = (u << 8) | b;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool String(std::string* s) {
    uint8_t len[2];
    if (!Bytes(len)) return false;
    const size_t n = (size_t{len[0]} << 8) | len[1];
    if (rest_.size() < n) return false;
    s->assign(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return true;
  }
  bool AtEnd() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kIngest:
      return "ingest";
    case Role::kPartner:
      return "partner";
    case Role::kReseller:
      return "reseller";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view text) {
  for (Role r : {Role::kAdmin, Role::kIngest, Role::kPartner, Role::kReseller}) {
    if (RoleName(r) == text) return r;
  }
  return std::nullopt;
}

Status NormalizeTokenSpec(TokenSpec* spec) {
  AsciiLowercase(&spec->partner_id);
  AsciiLowercase(&spec->mpn_id);
  switch (spec->role) {
    case Role::kAdmin:
    case Role::kIngest:
      spec->partner_id.clear();
      spec->mpn_id.clear();
      break;
    case Role::kPartner:
      if (spec->partner_id.empty()) {
        return Status::InvalidArgument("partner_id: required for role partner");
      }
      spec->mpn_id.clear();
      break;
    case Role::kReseller:
      if (spec->mpn_id.empty()) {
        return Status::InvalidArgument("mpn_id: required for role reseller");
      }
      spec->partner_id.clear();
      break;
  }
  METERD_RETURN_IF_ERROR(CheckLength(spec->partner_id, kMaxBindingIdBytes, "partner_id"));
  METERD_RETURN_IF_ERROR(CheckLength(spec->mpn_id, kMaxBindingIdBytes, "mpn_id"));
  METERD_RETURN_IF_ERROR(CheckLength(spec->name, kMaxTokenNameBytes, "name"));
  return Status::Ok();
}

Status FillRandom(std::span<uint8_t> out) {
  if (out.empty()) return Status::Ok();
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return Status::Internal("the random number generator failed");
  }
  return Status::Ok();
}

Result<IssuedToken> IssueToken(TokenSpec spec, rating::Timestamp now) {
  METERD_RETURN_IF_ERROR(NormalizeTokenSpec(&spec));
  std::array<uint8_t, kTokenSecretBytes> secret_bytes;
  std::array<uint8_t, 16> id_bytes;
  METERD_RETURN_IF_ERROR(FillRandom(secret_bytes));
  METERD_RETURN_IF_ERROR(FillRandom(id_bytes));

  IssuedToken issued;
  issued.secret = std::string(kTokenPrefix);
  issued.secret += Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(secret_bytes.data()), secret_bytes.size()));
  OPENSSL_cleanse(secret_bytes.data(), secret_bytes.size());

  static constexpr char kHex[] = "0123456789abcdef";
  TokenRecord& r = issued.record;
  r.token_id = std::string(kTokenIdPrefix);
  for (uint8_t b : id_bytes) {
    r.token_id.push_back(kHex[b >> 4]);
    r.token_id.push_back(kHex[b & 15]);
  }
  r.hash = HashTokenSecret(issued.secret);
  r.role = spec.role;
  r.partner_id = std::move(spec.partner_id);
  r.mpn_id = std::move(spec.mpn_id);
  r.name = std::move(spec.name);
  r.created_at = now;
  return issued;
}

bool IsWellFormedTokenSecret(std::string_view secret) {
  if (secret.size() != kTokenLength || !secret.starts_with(kTokenPrefix)) return false;
  const std::string_view body = secret.substr(kTokenPrefix.size());
  // 43 characters carry 258 bits; the last character's low 2 bits must be zero for the text to
  // be the one canonical encoding of 32 bytes.
  std::string decoded;
  if (!Base64UrlDecode(body, &decoded) || decoded.size() != kTokenSecretBytes) return false;
  return Base64UrlEncode(decoded) == body;
}

TokenHash HashTokenSecret(std::string_view secret) {
  TokenHash hash{};
  unsigned int length = 0;
  if (EVP_Digest(secret.data(), secret.size(), hash.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != hash.size()) {
    // SHA-256 cannot fail short of a broken OpenSSL; authenticating with a zero hash would be
    // worse than stopping (domain: broken invariant -> abort, systemd restarts).
    std::abort();
  }
  return hash;
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string EncodeTokenRecord(const TokenRecord& record) {
  std::string out;
  out.reserve(2 + record.hash.size() + 8 + 8 + record.token_id.size() + record.partner_id.size() +
              record.mpn_id.size() + record.name.size());
  out.push_back(static_cast<char>(kTokenRecordVersion));
  out.push_back(static_cast<char>(record.role));
  out.append(reinterpret_cast<const char*>(record.hash.data()), record.hash.size());
  const uint64_t created = static_cast<uint64_t>(record.created_at.nanos);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((created >> shift) & 0xff));
  }
  PutString(&out, record.token_id);
  PutString(&out, record.partner_id);
  PutString(&out, record.mpn_id);
  PutString(&out, record.name);
  return out;
}

Result<TokenRecord> DecodeTokenRecord(std::string_view bytes) {
  Reader in(bytes);
  uint8_t version = 0, role = 0;
  if (!in.Byte(&version)) return Status::Corruption("token record: empty");
  if (version != kTokenRecordVersion) {
    return Status::Corruption("token record: unknown version " + std::to_string(version));
  }
  TokenRecord r;
  if (!in.Byte(&role) || !in.Bytes(r.hash) || !in.I64(&r.created_at.nanos) ||
      !in.String(&r.token_id) || !in.String(&r.partner_id) || !in.String(&r.mpn_id) ||
      !in.String(&r.name)) {
    return Status::Corruption("token record: truncated");
  }
  if (!in.AtEnd()) return Status::Corruption("token record: trailing bytes");
  if (role > static_cast<uint8_t>(Role::kReseller)) {
    return Status::Corruption("token record: unknown role " + std::to_string(role));
  }
  r.role = static_cast<Role>(role);
  return r;
}

}  // namespace meterd::auth
