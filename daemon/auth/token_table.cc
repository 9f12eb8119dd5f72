// Readers never lock: each thread caches the snapshot it last used together with the table's
// version, and only when a writer has published since does it take the writer mutex once to
// pick up the new snapshot. std::atomic<std::shared_ptr> would be simpler, but libstdc++
// implements it with a spin bit that every concurrent reader contends on.

#include "daemon/auth/token_table.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace meterd::auth {

namespace {

// SHA-256 output is uniformly distributed: its first bytes are a perfect hash already.
struct TokenHashHasher {
  size_t operator()(const TokenHash& h) const {
    size_t v;
    std::memcpy(&v, h.data(), sizeof(v));
    return v;
  }
};

std::atomic<uint64_t> g_next_table_id{1};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

Status Unauthenticated(std::string reason) {
  return Status(kUnauthenticatedCode, std::move(reason));
}

}  // namespace

struct TokenTable::Snapshot {
  std::vector<TokenRecord> records;                                // sorted by token_id
  std::unordered_map<TokenHash, size_t, TokenHashHasher> by_hash;  // -> index in records

  // Builds the indexes; InvalidArgument on a duplicate id or hash.
  static Result<std::shared_ptr<const Snapshot>> Build(std::vector<TokenRecord> records) {
    auto s = std::make_shared<Snapshot>();
    std::sort(records.begin(), records.end(),
              [](const TokenRecord& a, const TokenRecord& b) { return a.token_id < b.token_id; });
    for (size_t i = 1; i < records.size(); ++i) {
      if (records[i].token_id == records[i - 1].token_id) {
        return Status::InvalidArgument("duplicate token id " + records[i].token_id);
      }
    }
    s->records = std::move(records);
    s->by_hash.reserve(s->records.size());
    for (size_t i = 0; i < s->records.size(); ++i) {
      if (!s->by_hash.emplace(s->records[i].hash, i).second) {
        return Status::InvalidArgument("duplicate token hash for " + s->records[i].token_id);
      }
    }
    return std::shared_ptr<const Snapshot>(std::move(s));
  }

  const TokenRecord* FindById(std::string_view token_id) const {
    auto it =
        std::lower_bound(records.begin(), records.end(), token_id,
                         [](const TokenRecord& r, std::string_view id) { return r.token_id < id; });
    if (it == records.end() || it->token_id != token_id) return nullptr;
    return &*it;
  }
};

namespace {

// The snapshot this thread last read, and which table and version it belongs to.
struct ReaderCache {
  uint64_t table_id = 0;
  uint64_t version = 0;
  std::shared_ptr<const TokenTable::Snapshot> snapshot;
};
thread_local ReaderCache t_reader_cache;

}  // namespace

TokenTable::TokenTable()
    : table_id_(g_next_table_id.fetch_add(1, std::memory_order_relaxed)),
      current_(std::make_shared<const Snapshot>()) {}

const TokenTable::Snapshot& TokenTable::Current() const {
  ReaderCache& cache = t_reader_cache;
  const uint64_t version = version_.load(std::memory_order_acquire);
  if (cache.table_id != table_id_ || cache.version != version) {
    std::lock_guard<std::mutex> lock(write_mu_);
    cache.table_id = table_id_;
    cache.version = version_.load(std::memory_order_relaxed);
    cache.snapshot = current_;
  }
  return *cache.snapshot;
}

void TokenTable::Publish(std::shared_ptr<const Snapshot> next) {
  current_ = std::move(next);
  version_.fetch_add(1, std::memory_order_release);
}

Status TokenTable::Load(std::vector<TokenRecord> records) {
  auto next = Snapshot::Build(std::move(records));
  if (!next.ok()) return next.status();
  std::lock_guard<std::mutex> lock(write_mu_);
  Publish(std::move(next).value());
  return Status::Ok();
}

Status TokenTable::Add(TokenRecord record) {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (current_->FindById(record.token_id) != nullptr) {
    return Status::AlreadyExists("token " + record.token_id + " exists");
  }
  if (current_->by_hash.contains(record.hash)) {
    return Status::AlreadyExists("a token with the same secret exists");
  }
  std::vector<TokenRecord> records = current_->records;
  records.push_back(std::move(record));
  auto next = Snapshot::Build(std::move(records));
  if (!next.ok()) return next.status();
  Publish(std::move(next).value());
  return Status::Ok();
}

Status TokenTable::Revoke(std::string_view token_id) {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (current_->FindById(token_id) == nullptr) {
    return Status::NotFound("token " + std::string(token_id) + " not found");
  }
  std::vector<TokenRecord> records;
  records.reserve(current_->records.size() - 1);
  for (const TokenRecord& r : current_->records) {
    if (r.token_id != token_id) records.push_back(r);
  }
  auto next = Snapshot::Build(std::move(records));
  if (!next.ok()) return next.status();
  Publish(std::move(next).value());
  return Status::Ok();
}

Result<Principal> TokenTable::Authenticate(std::string_view authorization_header) const {
  const std::string_view value = TrimBlanks(authorization_header);
  if (value.empty()) return Unauthenticated("missing bearer token");
  const size_t space = value.find_first_of(" \t");
  if (space == std::string_view::npos || !EqualsIgnoreAsciiCase(value.substr(0, space), "bearer")) {
    return Unauthenticated("authorization scheme is not Bearer");
  }
  const std::string_view token = TrimBlanks(value.substr(space));
  if (!IsWellFormedTokenSecret(token)) return Unauthenticated("malformed bearer token");

  const TokenHash hash = HashTokenSecret(token);
  const Snapshot& snapshot = Current();
  const auto it = snapshot.by_hash.find(hash);
  // The probe compares digests, not secrets: its timing says nothing an attacker could use to
  // build a valid secret. The constant-time check keeps the final comparison uniform anyway.
  if (it == snapshot.by_hash.end() || !ConstantTimeEquals(it->first, hash)) {
    return Unauthenticated("unknown or revoked token");
  }
  return snapshot.records[it->second].ToPrincipal();
}

std::optional<TokenRecord> TokenTable::Find(std::string_view token_id) const {
  const TokenRecord* r = Current().FindById(token_id);
  if (r == nullptr) return std::nullopt;
  return *r;
}

std::vector<TokenRecord> TokenTable::List() const { return Current().records; }

size_t TokenTable::size() const { return Current().records.size(); }

}  // namespace meterd::auth
