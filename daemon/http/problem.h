// application/problem+json (RFC 9457) responses: every error the server or a route returns is
// one of these, never HTML and never a stack trace. Also the answers the domain layer uses to
// push back: 503 + Retry-After (starting, draining, storage full) and 429 + Retry-After
// (a bounded queue is full). Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "daemon/http/response.h"

namespace meterd::http {

struct Problem {
  int status = 500;
  std::string title;                 // empty: the status's reason phrase
  std::string detail;                // human-readable, specific to this occurrence
  std::string type = "about:blank";  // a URI naming the problem type
  // Optional pre-rendered JSON array (built with JsonWriter) placed as "errors", for bodies
  // with several problems, e.g. [{"line":3,"error":"bad_json","detail":"..."}].
  std::string errors_json;
  std::optional<std::chrono::seconds> retry_after;  // adds a Retry-After header
};

Response MakeProblem(const Problem& problem);
// The common case: about:blank, reason phrase as title, `detail`.
Response MakeProblem(int status, std::string_view detail);

// 503 + Retry-After: the daemon is starting, draining, or storage is full.
Response ServiceUnavailable(std::chrono::seconds retry_after, std::string_view detail);
// 429 + Retry-After: a bounded queue is full; the client should slow down.
Response TooManyRequests(std::chrono::seconds retry_after, std::string_view detail);

// Maps a module Status to its problem response: InvalidArgument 400, NotFound 404,
// AlreadyExists 409, FailedPrecondition 409, OutOfRange 422, ResourceExhausted 429 and
// Unavailable 503 (both with Retry-After: 1), the rest 500 with a generic detail (internal
// messages are not for clients; log them). REQUIRES: !status.ok().
Response ProblemFromStatus(const Status& status);

}  // namespace meterd::http
