// Webhooks: partner-scoped endpoints that receive alerts, signed per Standard Webhooks.
// The alert log is the outbox: each endpoint keeps a durable cursor (the `outbox` database)
// into the committed alerts, so an alert committed before a crash is delivered after the
// restart with the same webhook-id, at least once, in commit order per endpoint. One delivery
// thread, woken on every commit that carries alerts. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "daemon/config/config.h"
#include "daemon/core/engine.h"
#include "rating/budget.h"
#include "storage/env.h"
#include "storage/writer.h"

namespace meterd::webhooks {

struct Webhook {
  std::string partner_id;
  std::string webhook_id;
  std::string url;
  std::string secret;                    // "whsec_…"
  std::vector<rating::AlertKind> kinds;  // empty: every kind
  bool disabled = false;                 // the receiver answered 410 Gone
  std::string disabled_reason;
};

struct DeliveryState {
  uint64_t cursor = 0;           // alerts up to this sequence are done for this endpoint
  uint32_t attempts = 0;         // failed attempts of the alert after the cursor
  int64_t first_failure_ns = 0;  // wall clock of its first failure
  int64_t next_attempt_ns = 0;   // wall clock before which it is not retried
};

struct Counters {
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> failed_attempts{0};
  std::atomic<uint64_t> gave_up{0};
  std::atomic<uint64_t> disabled{0};
  std::atomic<uint64_t> refused_private{0};
};

// Where a URL points, as parsed from http(s)://host[:port]/path.
struct Target {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query
};
Result<Target> ParseUrl(std::string_view url);
// Loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified or multicast.
bool IsPrivateAddress(std::string_view ip_literal);

class WebhookService {
 public:
  WebhookService(core::Engine* engine, storage::Env* env, storage::Writer* writer,
                 config::WebhookConfig config);
  ~WebhookService();

  Status Start();
  void Stop();
  // Call after every commit that carried alerts.
  void Wake();

  // PUT semantics: creates or replaces; a missing secret keeps the existing one or generates
  // one. InvalidArgument for a bad URL, secret or kind.
  Result<Webhook> Put(const std::string& partner_id, const std::string& webhook_id,
                      const std::string& url, std::optional<std::string> secret,
                      std::vector<rating::AlertKind> kinds);
  Result<Webhook> Get(const std::string& partner_id, const std::string& webhook_id) const;
  Status Delete(const std::string& partner_id, const std::string& webhook_id);

  const Counters& counters() const { return counters_; }

 private:
  struct Endpoint {
    Webhook hook;
    DeliveryState state;
  };
  void Run();
  // One pass over the endpoints; returns when the next one is due (wall nanoseconds).
  int64_t DeliverDue();
  Status Persist(const Endpoint& e);
  // POSTs body; returns the HTTP status or an error (timeouts, refused addresses, TLS).
  Result<int> Post(const Target& target, const std::string& id, int64_t timestamp_s,
                   const std::string& body, const std::string& key);

  core::Engine* const engine_;
  storage::Env* const env_;
  storage::Writer* const writer_;
  const config::WebhookConfig config_;
  Counters counters_;

  // Guards endpoints_ and may be held across a storage commit (Persist), so the writer thread
  // must never take it: Wake runs on the writer thread (after each commit carrying alerts) and
  // only takes wake_mu_, a leaf lock held for a few instructions. One lock for both once let the
  // delivery thread, persisting under mu_, wait for a writer that waited for mu_ in Wake.
  mutable std::mutex mu_;
  std::map<std::string, Endpoint> endpoints_;  // partner_id 0x00 webhook_id
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool woken_ = false;  // guarded by wake_mu_
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace meterd::webhooks
