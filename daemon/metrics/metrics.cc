#include "daemon/metrics/metrics.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include "daemon/http/responder.h"
#include "daemon/http/router.h"
#include "daemon/metrics/process_collector.h"

namespace meterd::metrics {

Metrics::Metrics(std::string_view version) : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name("meterd_build_info")
      .Help("Always 1; labelled with the running build's version")
      .Register(*registry_)
      .Add({{"version", std::string(version)}})
      .Set(1);
  collectables_.push_back(std::make_shared<ProcessCollector>());
}

void Metrics::AddCollectable(std::shared_ptr<prometheus::Collectable> collectable) {
  std::lock_guard<std::mutex> lock(mu_);
  collectables_.push_back(std::move(collectable));
}

std::string Metrics::Scrape() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<std::shared_ptr<prometheus::Collectable>> extra;
  {
    std::lock_guard<std::mutex> lock(mu_);
    extra = collectables_;
  }
  for (const auto& c : extra) {
    auto more = c->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

Status AddMetricsRoute(http::Router& router, const Metrics& metrics) {
  return router.Add(
      http::Verb::get, "/metrics", [&metrics](http::Request&, http::Responder responder) {
        responder.Send(http::Response::Text(200, kExpositionContentType, metrics.Scrape()));
      });
}

}  // namespace meterd::metrics
