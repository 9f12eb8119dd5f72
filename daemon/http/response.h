// The response a handler hands to its Responder: status, media type, body and extra headers.
// A plain value; the server adds Content-Length, Date, Server and Connection itself.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meterd::http {

inline constexpr std::string_view kJsonType = "application/json";
inline constexpr std::string_view kProblemJsonType = "application/problem+json";

struct Response {
  int status = 200;
  std::string content_type;  // empty: no Content-Type header (e.g. 204)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(int status, std::string body) {
    return Response{status, std::string(kJsonType), std::move(body), {}};
  }
  static Response Text(int status, std::string_view content_type, std::string body) {
    return Response{status, std::string(content_type), std::move(body), {}};
  }
  static Response NoContent() { return Response{204, {}, {}, {}}; }

  Response& WithHeader(std::string name, std::string value) & {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Response&& WithHeader(std::string name, std::string value) && {
    headers.emplace_back(std::move(name), std::move(value));
    return std::move(*this);
  }
};

// The standard reason phrase of a status code ("Payload Too Large"), or "Unknown".
std::string_view ReasonPhrase(int status);

}  // namespace meterd::http
