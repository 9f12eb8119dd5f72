// The in-memory table of valid tokens that every request is authenticated against.
// Thread-safety: Authenticate, Find, List and size may run on any thread concurrently with each
// other and with writers; lookups take no lock. Writers (Load, Add, Revoke) serialize on a
// mutex, build a new immutable snapshot and publish it; a revocation is effective for every
// Authenticate that starts after Revoke returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "daemon/auth/token.h"

namespace meterd::auth {

// common/status.h has no "unauthenticated" code yet. Every error Authenticate returns means
// "answer 401" and carries this code; route code must map it to 401 itself, never through a
// generic Status-to-HTTP mapping.
inline constexpr StatusCode kUnauthenticatedCode = StatusCode::kFailedPrecondition;

class TokenTable {
 public:
  TokenTable();
  TokenTable(const TokenTable&) = delete;
  TokenTable& operator=(const TokenTable&) = delete;

  // Replaces every token (at start, from storage). InvalidArgument on a duplicate id or hash,
  // leaving the table unchanged.
  Status Load(std::vector<TokenRecord> records);
  // Adds one token, after the caller has stored it. AlreadyExists on a duplicate id or hash.
  Status Add(TokenRecord record);
  // Removes a token, after the caller has deleted it from storage. NotFound if unknown.
  Status Revoke(std::string_view token_id);

  // Resolves an HTTP Authorization header value ("Bearer mtr_…"; scheme case-insensitive,
  // surrounding blanks ignored). Missing, malformed, unknown or revoked tokens all fail with
  // kUnauthenticatedCode and a reason fit for logs (never the token itself).
  // Cost: one SHA-256, one hash-map probe, one acquire load; no allocation besides the
  // returned Principal, no lock unless the table changed since this thread's last call.
  Result<Principal> Authenticate(std::string_view authorization_header) const;

  std::optional<TokenRecord> Find(std::string_view token_id) const;
  std::vector<TokenRecord> List() const;  // ordered by token_id
  size_t size() const;

  struct Snapshot;  // immutable; defined in the .cc

 private:
  // The newest snapshot, held by this thread's cache: valid until this thread calls Current()
  // again (on any table). Borrowing it keeps shared_ptr reference counts off the request path.
  const Snapshot& Current() const;
  void Publish(std::shared_ptr<const Snapshot> next);  // REQUIRES: write_mu_ held

  // Distinguishes tables in the per-thread snapshot cache (addresses can be reused).
  const uint64_t table_id_;
  // Bumped after every publish; readers compare it with their cached version.
  std::atomic<uint64_t> version_{1};
  mutable std::mutex write_mu_;
  std::shared_ptr<const Snapshot> current_;  // guarded by write_mu_
};

}  // namespace meterd::auth
