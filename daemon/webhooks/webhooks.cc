#include "daemon/webhooks/webhooks.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstring>
#include <random>

#include "common/thread_name.h"
#include "daemon/auth/webhook_signature.h"
#include "daemon/core/records.h"
#include "daemon/lifecycle/log.h"
#include "storage/schema.h"

namespace meterd::webhooks {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using storage::Db;

constexpr uint8_t kRecordVersion = 1;

int64_t WallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string EndpointKey(std::string_view partner, std::string_view id) {
  std::string k(partner);
  k.push_back('\0');
  k.append(id);
  return k;
}

void PutStr(std::string* out, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), 4);
  out->append(s);
}

bool GetStr(std::string_view* in, std::string* s) {
  uint32_t n;
  if (in->size() < 4) return false;
  std::memcpy(&n, in->data(), 4);
  in->remove_prefix(4);
  if (in->size() < n) return false;
  s->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

std::string EncodeWebhook(const Webhook& w) {
  std::string out(1, static_cast<char>(kRecordVersion));
  PutStr(&out, w.url);
  PutStr(&out, w.secret);
  out.push_back(static_cast<char>(w.disabled ? 1 : 0));
  PutStr(&out, w.disabled_reason);
  out.push_back(static_cast<char>(w.kinds.size()));
  for (rating::AlertKind k : w.kinds) out.push_back(static_cast<char>(k));
  return out;
}

bool DecodeWebhook(std::string_view in, Webhook* w) {
  if (in.empty() || static_cast<uint8_t>(in[0]) != kRecordVersion) return false;
  in.remove_prefix(1);
  if (!GetStr(&in, &w->url) || !GetStr(&in, &w->secret) || in.empty()) return false;
  w->disabled = in[0] != 0;
  in.remove_prefix(1);
  if (!GetStr(&in, &w->disabled_reason) || in.empty()) return false;
  size_t n = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (in.size() != n) return false;
  w->kinds.clear();
  for (char c : in) {
    if (static_cast<uint8_t>(c) > static_cast<uint8_t>(rating::AlertKind::kAnomaly)) return false;
    w->kinds.push_back(static_cast<rating::AlertKind>(c));
  }
  return true;
}

std::string EncodeState(const DeliveryState& s) {
  std::string out(28, '\0');
  std::memcpy(out.data(), &s.cursor, 8);
  std::memcpy(out.data() + 8, &s.attempts, 4);
  std::memcpy(out.data() + 12, &s.first_failure_ns, 8);
  std::memcpy(out.data() + 20, &s.next_attempt_ns, 8);
  return out;
}

bool DecodeState(std::string_view in, DeliveryState* s) {
  if (in.size() != 28) return false;
  std::memcpy(&s->cursor, in.data(), 8);
  std::memcpy(&s->attempts, in.data() + 8, 4);
  std::memcpy(&s->first_failure_ns, in.data() + 12, 8);
  std::memcpy(&s->next_attempt_ns, in.data() + 20, 8);
  return true;
}

uint64_t LastAlertSeq(storage::TxnBase& txn) {
  std::string k, v;
  if (!txn.Last(Db::kAlerts, &k, &v).ok() || k.size() != 8) return 0;
  return (uint64_t{storage::GetU32BE(k.data())} << 32) | storage::GetU32BE(k.data() + 4);
}

// Sends one request over an established stream and reads the answer, all bounded by the
// stream's deadline.
template <class Stream>
Result<int> Exchange(Stream& stream, net::io_context& ioc, http::request<http::string_body>& req,
                     beast::tcp_stream& lowest) {
  beast::error_code ec;
  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  http::async_write(stream, req, [&](beast::error_code e, size_t) {
    if (e) {
      ec = e;
      return;
    }
    http::async_read(stream, buffer, res, [&](beast::error_code e2, size_t) { ec = e2; });
  });
  ioc.restart();
  ioc.run();
  if (ec) return Status::Unavailable("webhook exchange: " + ec.message());
  return static_cast<int>(res.result_int());
}

}  // namespace

Result<Target> ParseUrl(std::string_view url) {
  Target t;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
    t.port = "80";
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
    t.tls = true;
    t.port = "443";
  } else {
    return Status::InvalidArgument("url must start with http:// or https://");
  }
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  t.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (size_t hash = t.target.find('#'); hash != std::string::npos) t.target.resize(hash);
  if (t.target.empty() || t.target[0] != '/') t.target.insert(0, "/");
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("url needs a host and no user information");
  }
  if (authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("bad IPv6 literal in url");
    t.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Status::InvalidArgument("bad port in url");
      t.port = std::string(after.substr(1));
    }
  } else {
    size_t colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) t.port = std::string(authority.substr(colon + 1));
  }
  if (t.host.empty() || t.port.empty() || t.port.size() > 5 ||
      t.port.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("bad host or port in url");
  }
  return t;
}

bool IsPrivateAddress(std::string_view ip_literal) {
  boost::system::error_code ec;
  net::ip::address a = net::ip::make_address(std::string(ip_literal), ec);
  if (ec) return false;
  if (a.is_v6()) {
    net::ip::address_v6 v6 = a.to_v6();
    if (v6.is_v4_mapped())
      return IsPrivateAddress(net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string());
    auto b = v6.to_bytes();
    return v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_multicast() ||
           (b[0] & 0xfe) == 0xfc;  // fc00::/7 unique local
  }
  auto b = a.to_v4().to_bytes();
  return b[0] == 127 || b[0] == 10 || b[0] == 0 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
         (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
         (b[0] == 100 && (b[1] & 0xc0) == 64) || b[0] >= 224;
}

WebhookService::WebhookService(core::Engine* engine, storage::Env* env, storage::Writer* writer,
                               config::WebhookConfig config)
    : engine_(engine), env_(env), writer_(writer), config_(std::move(config)) {}

WebhookService::~WebhookService() { Stop(); }

Status WebhookService::Start() {
  Result<storage::ReadTxn> txn = env_->BeginRead();
  if (!txn.ok()) return txn.status();
  Status decode = Status::Ok();
  Status st = txn->Scan(Db::kWebhooks, {}, storage::ScanBound::None(),
                        [&](std::string_view k, std::string_view v) {
                          size_t sep = k.find('\0');
                          Endpoint e;
                          if (sep == std::string_view::npos || !DecodeWebhook(v, &e.hook)) {
                            decode = Status::Corruption("webhook record");
                            return storage::ScanStep::kStop;
                          }
                          e.hook.partner_id = std::string(k.substr(0, sep));
                          e.hook.webhook_id = std::string(k.substr(sep + 1));
                          std::string state;
                          if (txn->Get(Db::kOutbox, k, &state).ok()) DecodeState(state, &e.state);
                          endpoints_.emplace(std::string(k), std::move(e));
                          return storage::ScanStep::kContinue;
                        });
  if (!st.ok()) return st;
  METERD_RETURN_IF_ERROR(decode);
  thread_ = std::thread([this] {
    SetCurrentThreadName("meterd-webhooks");
    // The cause of a failure is process-wide (seccomp, a security module): daemon/main.cc
    // reports it once, from the parse threads.
    (void)MarkCurrentThreadBackground();
    Run();
  });
  return Status::Ok();
}

void WebhookService::Stop() {
  stopping_.store(true);
  {
    // Under wake_mu_ so the delivery thread cannot miss it between its check and its wait.
    std::lock_guard<std::mutex> lock(wake_mu_);
  }
  wake_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookService::Wake() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    woken_ = true;
  }
  wake_cv_.notify_all();
}

Status WebhookService::Persist(const Endpoint& e) {
  std::string key = EndpointKey(e.hook.partner_id, e.hook.webhook_id);
  std::string hook = EncodeWebhook(e.hook);
  std::string state = EncodeState(e.state);
  return writer_->Execute([&](storage::WriteTxn& txn) {
    METERD_RETURN_IF_ERROR(txn.Put(Db::kWebhooks, key, hook));
    return txn.Put(Db::kOutbox, key, state);
  });
}

Result<Webhook> WebhookService::Put(const std::string& partner_id, const std::string& webhook_id,
                                    const std::string& url, std::optional<std::string> secret,
                                    std::vector<rating::AlertKind> kinds) {
  if (webhook_id.empty() || webhook_id.size() > 128) {
    return Status::InvalidArgument("webhook id must be 1 to 128 bytes");
  }
  if (url.size() > 2048) return Status::InvalidArgument("url longer than 2048 bytes");
  Result<Target> target = ParseUrl(url);
  if (!target.ok()) return target.status();
  if (!config_.allow_private && IsPrivateAddress(target->host)) {
    return Status::InvalidArgument("url points to a private or loopback address");
  }
  if (secret) {
    Result<std::string> key = auth::DecodeWebhookSecret(*secret);
    if (!key.ok()) return Status::InvalidArgument(key.status().message());
  }
  std::sort(kinds.begin(), kinds.end());
  kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
  std::string key = EndpointKey(partner_id, webhook_id);
  uint64_t last_seq = 0;
  {
    Result<storage::ReadTxn> txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    last_seq = LastAlertSeq(*txn);
  }
  // Under the lock through the commit, so the delivery thread's bookkeeping (which keeps the
  // cursor) and this change never overwrite each other.
  std::lock_guard<std::mutex> lock(mu_);
  Endpoint e;
  auto it = endpoints_.find(key);
  if (it != endpoints_.end()) {
    e = it->second;
  } else {
    e.state.cursor = last_seq;  // a new endpoint receives alerts from now on
  }
  e.hook.partner_id = partner_id;
  e.hook.webhook_id = webhook_id;
  e.hook.url = url;
  e.hook.kinds = std::move(kinds);
  e.hook.disabled = false;
  e.hook.disabled_reason.clear();
  if (secret) {
    e.hook.secret = *secret;
  } else if (e.hook.secret.empty()) {
    Result<std::string> generated = auth::GenerateWebhookSecret();
    if (!generated.ok()) return generated.status();
    e.hook.secret = *generated;
  }
  // A changed endpoint is tried again at once.
  e.state.attempts = 0;
  e.state.first_failure_ns = 0;
  e.state.next_attempt_ns = 0;
  METERD_RETURN_IF_ERROR(Persist(e));
  endpoints_[key] = e;
  Wake();  // wake_mu_ after mu_: the only order the two are ever taken in
  return e.hook;
}

Result<Webhook> WebhookService::Get(const std::string& partner_id,
                                    const std::string& webhook_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = endpoints_.find(EndpointKey(partner_id, webhook_id));
  if (it == endpoints_.end()) return Status::NotFound("no such webhook");
  return it->second.hook;
}

Status WebhookService::Delete(const std::string& partner_id, const std::string& webhook_id) {
  std::string key = EndpointKey(partner_id, webhook_id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!endpoints_.count(key)) return Status::NotFound("no such webhook");
  }
  METERD_RETURN_IF_ERROR(writer_->Execute([&](storage::WriteTxn& txn) {
    Status st = txn.Delete(Db::kWebhooks, key);
    if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
    st = txn.Delete(Db::kOutbox, key);
    return st.code() == StatusCode::kNotFound ? Status::Ok() : st;
  }));
  std::lock_guard<std::mutex> lock(mu_);
  endpoints_.erase(key);
  return Status::Ok();
}

void WebhookService::Run() {
  // Woken by every commit that carries alerts (no polling delay); the timed wait only serves
  // retries that come due.
  while (!stopping_.load()) {
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      woken_ = false;
    }
    int64_t next_due = DeliverDue();
    std::unique_lock<std::mutex> lock(wake_mu_);
    if (stopping_.load()) break;
    if (woken_) continue;
    int64_t wait_ns = std::clamp<int64_t>(next_due - WallNanos(), 1'000'000, 1'000'000'000);
    wake_cv_.wait_for(lock, std::chrono::nanoseconds(wait_ns),
                      [&] { return stopping_.load() || woken_; });
  }
}

int64_t WebhookService::DeliverDue() {
  int64_t next_due = WallNanos() + 1'000'000'000;
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, e] : endpoints_) keys.push_back(k);
  }
  std::mt19937_64 jitter(static_cast<uint64_t>(WallNanos()));
  for (const std::string& key : keys) {
    for (;;) {  // deliver this endpoint's due alerts one after another
      Endpoint e;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return next_due;
        auto it = endpoints_.find(key);
        if (it == endpoints_.end()) break;
        e = it->second;
      }
      if (e.hook.disabled) break;
      int64_t now = WallNanos();
      if (e.state.next_attempt_ns > now) {
        next_due = std::min(next_due, e.state.next_attempt_ns);
        break;
      }
      // The next alert after the cursor that this endpoint should receive.
      auto snap = engine_->snapshot();
      std::optional<uint64_t> seq;
      std::string body;
      uint64_t scanned_to = e.state.cursor;
      {
        Result<storage::ReadTxn> txn = env_->BeginRead();
        if (!txn.ok()) return next_due;
        storage::KeyBuilder kb;
        storage::keys::Sequence(&kb, e.state.cursor + 1);
        core::StoredAlert alert;
        Status st = txn->Scan(
            Db::kAlerts, kb.view(), storage::ScanBound::None(),
            [&](std::string_view k, std::string_view v) {
              if (k.size() != 8 || !core::DecodeAlert(v, &alert).ok())
                return storage::ScanStep::kStop;
              uint64_t s =
                  (uint64_t{storage::GetU32BE(k.data())} << 32) | storage::GetU32BE(k.data() + 4);
              const rating::Customer* c = snap->FindCustomer(alert.customer_id);
              bool wanted =
                  c && c->partner_id == e.hook.partner_id &&
                  (e.hook.kinds.empty() || std::find(e.hook.kinds.begin(), e.hook.kinds.end(),
                                                     alert.kind) != e.hook.kinds.end());
              if (!wanted) {
                scanned_to = s;
                return storage::ScanStep::kContinue;
              }
              seq = s;
              body = "{\"id\":\"" + core::AlertId(s) + "\"," + alert.json_members + "}";
              return storage::ScanStep::kStop;
            });
        if (!st.ok()) return next_due;
      }
      if (!seq) {
        if (scanned_to != e.state.cursor) {  // skipped alerts of other partners or kinds
          e.state.cursor = scanned_to;
          {
            std::lock_guard<std::mutex> lock(mu_);
            auto it = endpoints_.find(key);
            if (it != endpoints_.end()) it->second.state.cursor = scanned_to;
          }
        }
        break;
      }
      Result<Target> target = ParseUrl(e.hook.url);
      Result<std::string> secret = auth::DecodeWebhookSecret(e.hook.secret);
      Result<int> status = Status::InvalidArgument("bad webhook url or secret");
      if (target.ok() && secret.ok()) {
        int64_t ts = WallNanos() / 1'000'000'000;
        status = Post(*target, core::AlertId(*seq), ts, body, *secret);
      }
      if (status.ok() && *status >= 200 && *status < 300) {
        e.state.cursor = *seq;
        e.state.attempts = 0;
        e.state.first_failure_ns = 0;
        e.state.next_attempt_ns = 0;
        counters_.delivered.fetch_add(1);
      } else if (status.ok() && *status == 410) {
        e.hook.disabled = true;
        e.hook.disabled_reason = "the receiver answered 410 Gone";
        counters_.disabled.fetch_add(1);
        lifecycle::LogWarning("webhook " + e.hook.webhook_id + " disabled: 410 Gone");
      } else {
        counters_.failed_attempts.fetch_add(1);
        if (e.state.attempts == 0) e.state.first_failure_ns = now;
        ++e.state.attempts;
        int64_t give_up_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(config_.give_up_after).count();
        if (now - e.state.first_failure_ns >= give_up_ns) {
          counters_.gave_up.fetch_add(1);
          lifecycle::LogWarning("webhook " + e.hook.webhook_id + " gave up on " +
                                core::AlertId(*seq));
          e.state.cursor = *seq;
          e.state.attempts = 0;
          e.state.first_failure_ns = 0;
          e.state.next_attempt_ns = 0;
        } else {
          // Exponential back-off with "equal jitter": half fixed, half random.
          int64_t base =
              std::chrono::duration_cast<std::chrono::nanoseconds>(config_.retry_initial).count();
          int64_t cap =
              std::chrono::duration_cast<std::chrono::nanoseconds>(config_.retry_max).count();
          int64_t delay = base;
          for (uint32_t i = 1; i < e.state.attempts && delay < cap; ++i) delay *= 2;
          delay = std::min(delay, cap);
          int64_t half = delay / 2;
          delay = half + static_cast<int64_t>(jitter() % static_cast<uint64_t>(half + 1));
          // Timed from the failed answer, not from before the scan and the send: a receiver
          // must see at least the back-off between two attempts however slow the first was.
          e.state.next_attempt_ns = WallNanos() + delay;
          next_due = std::min(next_due, e.state.next_attempt_ns);
        }
      }
      Status persisted;
      {
        // Keep what a concurrent PUT changed (url, secret, kinds); record only this delivery's
        // outcome. DELETE meanwhile wins.
        std::lock_guard<std::mutex> lock(mu_);
        auto it = endpoints_.find(key);
        if (it == endpoints_.end()) break;
        it->second.state = e.state;
        if (e.hook.disabled) {
          it->second.hook.disabled = true;
          it->second.hook.disabled_reason = e.hook.disabled_reason;
        }
        persisted = Persist(it->second);
      }
      if (!persisted.ok() || e.hook.disabled || e.state.next_attempt_ns > WallNanos()) break;
    }
  }
  return next_due;
}

Result<int> WebhookService::Post(const Target& target, const std::string& id, int64_t timestamp_s,
                                 const std::string& body, const std::string& key) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  tcp::resolver::results_type endpoints = resolver.resolve(target.host, target.port, ec);
  if (ec) return Status::Unavailable("resolve " + target.host + ": " + ec.message());
  for (const auto& ep : endpoints) {
    if (!config_.allow_private && IsPrivateAddress(ep.endpoint().address().to_string())) {
      counters_.refused_private.fetch_add(1);
      return Status::FailedPrecondition("refused private address " +
                                        ep.endpoint().address().to_string());
    }
  }
  http::request<http::string_body> req{http::verb::post, target.target, 11};
  req.set(http::field::host, target.host);
  req.set(http::field::user_agent, "meterd-webhooks/" METERD_VERSION);
  req.set(http::field::content_type, "application/json");
  req.set("webhook-id", id);
  req.set("webhook-timestamp", std::to_string(timestamp_s));
  req.set("webhook-signature", auth::SignWebhook(key, id, timestamp_s, body));
  req.body() = body;
  req.prepare_payload();

  beast::tcp_stream stream(ioc);
  stream.expires_after(config_.timeout);
  stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  ioc.run();
  if (ec) return Status::Unavailable("connect: " + ec.message());
  if (!target.tls) {
    Result<int> r = Exchange(stream, ioc, req, stream);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return r;
  }
  net::ssl::context tls(net::ssl::context::tls_client);
  tls.set_default_verify_paths();
  tls.set_verify_mode(net::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> secure(std::move(stream), tls);
  if (!SSL_set_tlsext_host_name(secure.native_handle(), target.host.c_str())) {
    return Status::Unavailable("TLS: cannot set SNI");
  }
  secure.set_verify_callback(net::ssl::host_name_verification(target.host));
  secure.async_handshake(net::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
  ioc.restart();
  ioc.run();
  if (ec) return Status::Unavailable("TLS handshake: " + ec.message());
  return Exchange(secure, ioc, req, beast::get_lowest_layer(secure));
}

}  // namespace meterd::webhooks
