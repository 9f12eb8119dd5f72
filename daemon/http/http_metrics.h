// The HTTP server's Prometheus families, created once when the server is built: requests and
// latency by route pattern (never the raw path) and status code, connections, and rejected or
// failed requests by reason. The per-(route, code) series are created on first sight of that
// pair (one Family::Add under a mutex, once) and then found through an atomic table, so the
// per-request path is a relaxed load plus the prometheus-cpp increments. Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/http/router.h"

namespace meterd::http {

// Why a request or connection ended without reaching a handler (label "reason").
enum class RequestError {
  kIdleTimeout,
  kHeaderTimeout,
  kBodyTimeout,
  kWriteTimeout,
  kHeaderTooLarge,
  kBodyTooLarge,
  kBadRequest,
  kHandlerException,
  kNoResponse,     // a handler dropped its Responder without answering
  kStreamAborted,  // a streamed response was cut off (its producer failed after the headers)
  kCount,
};

class HttpMetrics {
 public:
  // REQUIRES: `router` is complete; `registry` outlives this object.
  HttpMetrics(prometheus::Registry& registry, const Router& router);
  ~HttpMetrics();

  // The route index used for requests no route matched (404, 405, 400, 431).
  size_t unmatched_route() const { return route_count_; }

  void ObserveRequest(size_t route, int status, double seconds);
  void ConnectionOpened() {
    connections_active_->Increment();
    connections_total_->Increment();
  }
  void ConnectionClosed() { connections_active_->Decrement(); }
  void ConnectionRejected() { connections_rejected_->Increment(); }
  void CountError(RequestError e) { errors_[static_cast<size_t>(e)]->Increment(); }

 private:
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* latency;
  };
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;
  static constexpr size_t kStatusSlots = kMaxStatus - kMinStatus + 1;

  Series* CreateSeries(size_t route, int status);

  size_t route_count_;
  std::vector<std::string> methods_;   // per route index (+ unmatched)
  std::vector<std::string> patterns_;  // per route index (+ unmatched)
  prometheus::Family<prometheus::Counter>& requests_family_;
  prometheus::Family<prometheus::Histogram>& latency_family_;
  prometheus::Gauge* connections_active_;
  prometheus::Counter* connections_total_;
  prometheus::Counter* connections_rejected_;
  prometheus::Counter* errors_[static_cast<size_t>(RequestError::kCount)];

  std::unique_ptr<std::atomic<Series*>[]> table_;  // (route_count_ + 1) × kStatusSlots
  std::mutex create_mu_;
  std::vector<std::unique_ptr<Series>> owned_;  // guarded by create_mu_
};

}  // namespace meterd::http
