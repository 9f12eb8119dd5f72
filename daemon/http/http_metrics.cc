#include "daemon/http/http_metrics.h"

#include <prometheus/counter.h>

namespace meterd::http {
namespace {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return kBuckets;
}

const char* ErrorReason(RequestError e) {
  switch (e) {
    case RequestError::kIdleTimeout:
      return "idle_timeout";
    case RequestError::kHeaderTimeout:
      return "header_timeout";
    case RequestError::kBodyTimeout:
      return "body_timeout";
    case RequestError::kWriteTimeout:
      return "write_timeout";
    case RequestError::kHeaderTooLarge:
      return "header_too_large";
    case RequestError::kBodyTooLarge:
      return "body_too_large";
    case RequestError::kBadRequest:
      return "bad_request";
    case RequestError::kHandlerException:
      return "handler_exception";
    case RequestError::kNoResponse:
      return "no_response";
    case RequestError::kStreamAborted:
      return "stream_aborted";
    case RequestError::kCount:
      break;
  }
  return "unknown";
}

}  // namespace

HttpMetrics::HttpMetrics(prometheus::Registry& registry, const Router& router)
    : route_count_(router.routes().size()),
      requests_family_(prometheus::BuildCounter()
                           .Name("meterd_http_requests_total")
                           .Help("HTTP requests answered, by route pattern and status code")
                           .Register(registry)),
      latency_family_(prometheus::BuildHistogram()
                          .Name("meterd_http_request_duration_seconds")
                          .Help("Time from the end of the request headers to the end of the "
                                "response write, by route pattern and status code")
                          .Register(registry)),
      table_(new std::atomic<Series*>[(router.routes().size() + 1) * kStatusSlots]) {
  for (const auto& r : router.routes()) {
    methods_.emplace_back(boost::beast::http::to_string(r->method));
    patterns_.push_back(r->pattern);
  }
  methods_.emplace_back("");
  patterns_.emplace_back("unmatched");
  for (size_t i = 0; i < (route_count_ + 1) * kStatusSlots; ++i) {
    table_[i].store(nullptr, std::memory_order_relaxed);
  }

  auto& conn_gauge = prometheus::BuildGauge()
                         .Name("meterd_http_connections_active")
                         .Help("Open HTTP connections")
                         .Register(registry);
  connections_active_ = &conn_gauge.Add({});
  auto& conn_total = prometheus::BuildCounter()
                         .Name("meterd_http_connections_total")
                         .Help("HTTP connections accepted")
                         .Register(registry);
  connections_total_ = &conn_total.Add({});
  auto& conn_rejected = prometheus::BuildCounter()
                            .Name("meterd_http_connections_rejected_total")
                            .Help("HTTP connections refused with 503 at the connection limit")
                            .Register(registry);
  connections_rejected_ = &conn_rejected.Add({});
  auto& errors = prometheus::BuildCounter()
                     .Name("meterd_http_request_errors_total")
                     .Help(
                         "Requests or connections that failed before or inside a handler, "
                         "by reason")
                     .Register(registry);
  for (size_t i = 0; i < static_cast<size_t>(RequestError::kCount); ++i) {
    errors_[i] = &errors.Add({{"reason", ErrorReason(static_cast<RequestError>(i))}});
  }
}

HttpMetrics::~HttpMetrics() = default;

HttpMetrics::Series* HttpMetrics::CreateSeries(size_t route, int status) {
  std::lock_guard<std::mutex> lock(create_mu_);
  std::atomic<Series*>& slot = table_[route * kStatusSlots + (status - kMinStatus)];
  if (Series* s = slot.load(std::memory_order_acquire)) return s;  // another thread won
  const prometheus::Labels labels = {
      {"method", methods_[route]}, {"route", patterns_[route]}, {"code", std::to_string(status)}};
  auto series = std::make_unique<Series>();
  series->requests = &requests_family_.Add(labels);
  series->latency = &latency_family_.Add(labels, LatencyBuckets());
  Series* raw = series.get();
  owned_.push_back(std::move(series));
  slot.store(raw, std::memory_order_release);
  return raw;
}

void HttpMetrics::ObserveRequest(size_t route, int status, double seconds) {
  if (route > route_count_) route = route_count_;
  if (status < kMinStatus || status > kMaxStatus) status = 500;
  Series* s = table_[route * kStatusSlots + (status - kMinStatus)].load(std::memory_order_acquire);
  if (s == nullptr) s = CreateSeries(route, status);
  s->requests->Increment();
  s->latency->Observe(seconds);
}

}  // namespace meterd::http
