// meterctl's HTTP/1.1 client for meterd (shared/spec/api.md): one keep-alive connection,
// bearer-token auth, a deadline per request, bounded retries after 429/503 honouring
// Retry-After, and downloads streamed to a file (a partial file is never left under the final
// name). Plain HTTP only: meterd listens on loopback or behind a TLS-terminating proxy.
// An HttpClient is used by one thread at a time; it owns a private Asio loop run on the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace meterd::meterctl {

struct Endpoint {
  std::string host;       // without IPv6 brackets
  std::string port;       // "8787"
  std::string base_path;  // "" or "/prefix" (no trailing slash), prepended to every target
};

// "http://HOST[:PORT][/PREFIX]"; port 80 by default; IPv6 hosts in brackets ("http://[::1]:8787").
// InvalidArgument for anything else (https included: see docs/meterctl.md).
Result<Endpoint> ParseUrl(std::string_view url);

enum class Method { kGet, kPost, kPut, kDelete };

struct HttpResponse {
  int status = 0;
  std::string content_type;  // media type without parameters, lowercased
  std::string body;          // empty for a download that succeeded (the body went to the file)
  uint64_t body_bytes = 0;   // bytes received (also for downloads)
};

struct ClientOptions {
  std::chrono::milliseconds timeout{60'000};  // per request (connect, send, whole answer)
  int max_retries = 3;                        // after 429/503 with Retry-After
  std::chrono::seconds max_retry_wait{30};    // a longer Retry-After is not waited for
};

class HttpClient {
 public:
  HttpClient(Endpoint endpoint, std::string token, ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads the whole answer. The Status is not OK only when no HTTP
  // answer arrived: Unavailable (cannot connect, connection lost, deadline passed) or
  // InvalidArgument (a malformed answer). HTTP errors (4xx, 5xx) are ordinary responses.
  // extra_time lengthens this request's deadline (long polls).
  Result<HttpResponse> Send(Method method, std::string_view target,
                            std::string_view content_type = {}, std::string body = {},
                            std::chrono::milliseconds extra_time = {});

  // GET target; a 2xx body is streamed to path (written as path + ".partial", renamed when
  // complete); any other answer is returned in memory like Send and leaves no file. The deadline
  // applies to each read, not to the whole transfer, so large exports are not cut off.
  Result<HttpResponse> Download(std::string_view target, const std::string& path);

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  struct Impl;
  Endpoint endpoint_;
  std::string token_;
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

// "GET", "POST", ...
std::string_view MethodName(Method method);

// Percent-encodes a path segment or query value (RFC 3986 unreserved characters kept).
std::string UrlEncode(std::string_view s);

}  // namespace meterd::meterctl
