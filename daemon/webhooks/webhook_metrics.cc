#include "daemon/webhooks/webhook_metrics.h"

#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace meterd::webhooks {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric Labelled(const std::atomic<uint64_t>& value, const char* result) {
  ClientMetric m;
  m.label = {{"result", result}};
  m.counter.value = static_cast<double>(value.load(std::memory_order_relaxed));
  return m;
}

class WebhookCollectable : public prometheus::Collectable {
 public:
  explicit WebhookCollectable(const WebhookService& service) : service_(service) {}

  std::vector<MetricFamily> Collect() const override {
    const Counters& c = service_.counters();
    MetricFamily attempts;
    attempts.name = "meterd_webhook_deliveries_total";
    attempts.help =
        "Webhook delivery outcomes: delivered (2xx), failed attempts (retried), gave_up "
        "(retries exhausted), disabled (410 Gone), refused_private (target resolved to a "
        "private address).";
    attempts.type = MetricType::Counter;
    attempts.metric = {Labelled(c.delivered, "delivered"),
                       Labelled(c.failed_attempts, "failed"), Labelled(c.gave_up, "gave_up"),
                       Labelled(c.disabled, "disabled"),
                       Labelled(c.refused_private, "refused_private")};
    return {attempts};
  }

 private:
  const WebhookService& service_;
};

}  // namespace

void RegisterWebhookMetrics(metrics::Metrics& metrics, const WebhookService& service) {
  metrics.AddCollectable(std::make_shared<WebhookCollectable>(service));
}

}  // namespace meterd::webhooks
