// Maps (method, path) to a handler. Patterns are '/'-separated segments, each a literal
// ("spend", "budgets:batchSet") or a whole-segment parameter ("{id}"); parameter values are
// percent-decoded and may contain ':' or an escaped '/'. Literal segments win over parameters
// at the first position where two patterns differ. Build the router before the server starts;
// afterwards it is immutable and Find() is thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "daemon/http/request.h"

namespace meterd::http {

class Responder;

// Handlers run on an I/O thread and must not block: answer through the Responder now or later,
// from any thread. The Request stays valid until the Responder is sent or destroyed.
using Handler = std::function<void(Request&, Responder)>;

// Which body limit applies, chosen per route before the body is read (api.md: 64 MiB for
// POST /v1/usage and bulk loads, 1 MiB elsewhere). Sizes come from config::ServerConfig.
enum class BodyLimit { kStandard, kBulk };

struct RouteOptions {
  BodyLimit body_limit = BodyLimit::kStandard;
};

struct Route {
  size_t index = 0;  // dense 0..N-1 in order of Add(); metrics index by it
  Verb method = Verb::get;
  std::string pattern;
  Handler handler;
  RouteOptions options;

  struct Segment {
    std::string text;  // literal text, or the parameter name without braces
    bool is_param = false;
  };
  std::vector<Segment> segments;
};

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed };
  Kind kind = Kind::kNotFound;
  const Route* route = nullptr;                                  // kFound
  std::vector<std::pair<std::string_view, std::string>> params;  // kFound: decoded values
  std::string allow;  // kMethodNotAllowed: the Allow header value, e.g. "GET, HEAD, PUT"
  Status status;      // not ok when a path segment has a malformed escape (answer 400)
};

class Router {
 public:
  Router() = default;
  Router(Router&&) = default;
  Router& operator=(Router&&) = default;

  // InvalidArgument for a malformed pattern; AlreadyExists for a duplicate (method, pattern).
  Status Add(Verb method, std::string_view pattern, Handler handler, RouteOptions options = {});

  // HEAD is answered by the GET route of the same path (the server drops the body).
  RouteMatch Find(Verb method, std::string_view path) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  // unique_ptr keeps Route addresses (and the string_views requests take) stable across Add().
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace meterd::http
