// Prometheus view of webhook delivery (docs/alerts.md, "Webhooks"), read at scrape time from the
// service's atomic counters: nothing is added to the delivery path. Register once at start.
#pragma once

#include "daemon/metrics/metrics.h"
#include "daemon/webhooks/webhooks.h"

namespace meterd::webhooks {

// REQUIRES: `service` outlives `metrics`' scrapes (main stops the server first).
void RegisterWebhookMetrics(metrics::Metrics& metrics, const WebhookService& service);

}  // namespace meterd::webhooks
