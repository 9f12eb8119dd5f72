// The daemon's one Prometheus registry, made at start by the composition root and passed to
// modules so they create their families once, at start, and keep references (the hot path
// only increments; no Family::Add there, no per-customer labels). Also carries
// meterd_build_info and the process collector, and renders the text exposition for
// GET /metrics (served by our own HTTP server, not prometheus-cpp's exposer). Thread-safe.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace meterd::http {
class Router;
}

namespace meterd::metrics {

inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

class Metrics {
 public:
  // `version` labels meterd_build_info.
  explicit Metrics(std::string_view version);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Where modules register their families (names prefixed meterd_). REQUIRES: at start, before
  // the hot path runs; keep the returned Family and metric references.
  prometheus::Registry& registry() { return *registry_; }

  // Adds a collectable computed at scrape time (e.g. LMDB map usage). Kept alive here.
  void AddCollectable(std::shared_ptr<prometheus::Collectable> collectable);

  // Prometheus text exposition (format 0.0.4) of everything registered.
  std::string Scrape() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;  // guarded by mu_
};

// Adds GET /metrics to `router`, answering metrics.Scrape(). `metrics` must outlive the server.
Status AddMetricsRoute(http::Router& router, const Metrics& metrics);

}  // namespace meterd::metrics
