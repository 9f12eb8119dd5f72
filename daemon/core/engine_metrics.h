// Prometheus view of the engine, the storage writer and the LMDB environment, computed at scrape
// time from their atomics (nothing on the hot path). Register once at start.
#pragma once

#include "daemon/core/engine.h"
#include "daemon/metrics/metrics.h"
#include "storage/env.h"
#include "storage/writer.h"

namespace meterd::core {

void RegisterEngineMetrics(metrics::Metrics& metrics, const Engine& engine,
                           const storage::Writer& writer, storage::Env& env);

}  // namespace meterd::core
