// API tokens (domain §6, api.md "Tokens and bootstrap"): roles, the principal a token stands
// for, secret and id generation, SHA-256 hashing (only hashes are ever stored), constant-time
// comparison, and the versioned byte encoding of a TokenRecord that the storage layer keeps.
// Pure functions and value types, thread-safe; randomness comes from OpenSSL's CSPRNG.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "rating/civil_time.h"

namespace meterd::auth {

// The numeric values are persisted in TokenRecord bytes: append only.
enum class Role : uint8_t { kAdmin = 0, kIngest = 1, kPartner = 2, kReseller = 3 };

std::string_view RoleName(Role role);  // "admin" | "ingest" | "partner" | "reseller"
std::optional<Role> ParseRole(std::string_view text);  // exactly those spellings

// Who is calling: what a valid token resolves to. Ids are ASCII-lowercased.
struct Principal {
  Role role = Role::kIngest;
  std::string partner_id;  // set for kPartner (the partner it is bound to), else empty
  std::string mpn_id;      // set for kReseller (its MPN ID), else empty
  std::string token_id;
  friend bool operator==(const Principal&, const Principal&) = default;
};

// "mtr_" + base64url (unpadded) of 32 random bytes: 47 characters in all.
inline constexpr std::string_view kTokenPrefix = "mtr_";
inline constexpr size_t kTokenSecretBytes = 32;
inline constexpr size_t kTokenLength = 47;
// "tok_" + 32 lowercase hex digits (16 random bytes): lowercase, so the case-insensitive id
// rules of domain §2 never matter for it.
inline constexpr std::string_view kTokenIdPrefix = "tok_";
inline constexpr size_t kTokenIdLength = 36;
// Limits on what a token record carries (ids follow the 128-byte id limit of domain §8.21).
inline constexpr size_t kMaxBindingIdBytes = 128;
inline constexpr size_t kMaxTokenNameBytes = 256;

using TokenHash = std::array<uint8_t, 32>;

// What is stored per token. The secret itself is never stored, only its SHA-256.
struct TokenRecord {
  std::string token_id;
  TokenHash hash{};
  Role role = Role::kIngest;
  std::string partner_id;
  std::string mpn_id;
  std::string name;
  rating::Timestamp created_at;

  Principal ToPrincipal() const { return Principal{role, partner_id, mpn_id, token_id}; }
  friend bool operator==(const TokenRecord&, const TokenRecord&) = default;
};

// What POST /v1/tokens asks for.
struct TokenSpec {
  Role role = Role::kIngest;
  std::string partner_id;
  std::string mpn_id;
  std::string name;
};

// Lowercases the ids and validates: kPartner needs partner_id, kReseller needs mpn_id; ids of
// at most 128 bytes, name of at most 256. A binding id that the role does not use is cleared
// rather than refused, so a principal never carries a scope it does not have.
// InvalidArgument naming the field otherwise.
Status NormalizeTokenSpec(TokenSpec* spec);

// A freshly issued token: the record to store and the secret to show once.
struct IssuedToken {
  TokenRecord record;
  std::string secret;
};

// Normalizes `spec`, draws a secret and an id, and hashes the secret. Internal if the random
// generator fails (the caller answers 500; no token is created).
Result<IssuedToken> IssueToken(TokenSpec spec, rating::Timestamp now);

// Fills `out` from OpenSSL's CSPRNG (RAND_bytes, seeded from getrandom). Internal on failure.
Status FillRandom(std::span<uint8_t> out);

// True for "mtr_" followed by exactly 43 base64url characters that decode to 32 bytes.
bool IsWellFormedTokenSecret(std::string_view secret);
// SHA-256 (OpenSSL EVP) of the whole token text, prefix included.
TokenHash HashTokenSecret(std::string_view secret);
// Compares without an early exit (CRYPTO_memcmp); different lengths compare unequal.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

// The storage encoding of a TokenRecord, version 1, all integers big-endian:
//   u8 version (1) | u8 role | 32 bytes hash | i64 created_at (ns since epoch) |
//   4 × (u16 length | bytes): token_id, partner_id, mpn_id, name
// Exact and self-delimiting: DecodeTokenRecord(EncodeTokenRecord(r)) == r, and any truncation,
// trailing byte, unknown version or unknown role is Corruption.
inline constexpr uint8_t kTokenRecordVersion = 1;
std::string EncodeTokenRecord(const TokenRecord& record);
Result<TokenRecord> DecodeTokenRecord(std::string_view bytes);

}  // namespace meterd::auth
