// The operational probes of api.md: GET /healthz answers 200 while the process serves;
// GET /readyz answers 200 when `ready()` holds (storage open, usage accepted) and otherwise
// 503 problem+json with Retry-After. `ready` is called on I/O threads: make it a cheap,
// thread-safe read (an atomic flag).
#pragma once

#include <functional>

#include "common/status.h"
#include "daemon/http/router.h"

namespace meterd::http {

Status AddHealthRoutes(Router& router, std::function<bool()> ready);

}  // namespace meterd::http
