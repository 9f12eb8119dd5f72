#include "daemon/http/health.h"

#include <chrono>

#include "daemon/http/problem.h"
#include "daemon/http/responder.h"

namespace meterd::http {

Status AddHealthRoutes(Router& router, std::function<bool()> ready) {
  METERD_RETURN_IF_ERROR(router.Add(Verb::get, "/healthz", [](Request&, Responder r) {
    r.Send(Response::Json(200, R"({"status":"ok"})"));
  }));
  return router.Add(Verb::get, "/readyz", [ready = std::move(ready)](Request&, Responder r) {
    if (ready && ready()) {
      r.Send(Response::Json(200, R"({"status":"ready"})"));
    } else {
      r.Send(ServiceUnavailable(std::chrono::seconds(1), "meterd is not ready"));
    }
  });
}

}  // namespace meterd::http
