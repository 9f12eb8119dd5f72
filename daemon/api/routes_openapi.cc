// GET /v1/openapi.json: the OpenAPI 3.0 description of api.md, served without a token so
// clients and generators can fetch it before they hold one. The document is daemon/api/
// openapi.json, embedded at build time (daemon/CMakeLists.txt generates openapi_json.cc), so the
// binary always serves the document it was built with. Immutable data; thread-safe.
#include <cstddef>
#include <string>

#include "daemon/api/api_internal.h"

namespace meterd::api::internal {

// Defined in the generated openapi_json.cc: the bytes of daemon/api/openapi.json.
extern const unsigned char kOpenApiJson[];
extern const size_t kOpenApiJsonSize;

void RegisterOpenApiRoute(http::Router& router, ApiContext* /*ctx*/) {
  Status st = router.Add(http::Verb::get, "/v1/openapi.json", [](http::Request&, http::Responder r) {
    http::Response response = http::Response::Json(
        200, std::string(reinterpret_cast<const char*>(kOpenApiJson), kOpenApiJsonSize));
    // The document changes only with the binary; a client may keep it for a while.
    response.WithHeader("Cache-Control", "public, max-age=300");
    r.Send(std::move(response));
  });
  if (!st.ok()) std::abort();  // a duplicate or malformed pattern is a programming error
}

}  // namespace meterd::api::internal
