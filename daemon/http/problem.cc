#include "daemon/http/problem.h"

#include "daemon/http/json_writer.h"

namespace meterd::http {

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

Response MakeProblem(const Problem& problem) {
  JsonWriter w;
  w.BeginObject()
      .Field("type", problem.type)
      .Field("title",
             problem.title.empty() ? ReasonPhrase(problem.status) : std::string_view(problem.title))
      .Field("status", problem.status)
      .Field("detail", problem.detail);
  if (!problem.errors_json.empty()) w.Key("errors").RawValue(problem.errors_json);
  w.EndObject();
  Response r{problem.status, std::string(kProblemJsonType), w.Release(), {}};
  if (problem.retry_after) {
    r.WithHeader("Retry-After", std::to_string(problem.retry_after->count()));
  }
  return r;
}

Response MakeProblem(int status, std::string_view detail) {
  Problem p;
  p.status = status;
  p.detail = std::string(detail);
  return MakeProblem(p);
}

Response ServiceUnavailable(std::chrono::seconds retry_after, std::string_view detail) {
  Problem p;
  p.status = 503;
  p.detail = std::string(detail);
  p.retry_after = retry_after;
  return MakeProblem(p);
}

Response TooManyRequests(std::chrono::seconds retry_after, std::string_view detail) {
  Problem p;
  p.status = 429;
  p.detail = std::string(detail);
  p.retry_after = retry_after;
  return MakeProblem(p);
}

Response ProblemFromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return MakeProblem(400, status.message());
    case StatusCode::kNotFound:
      return MakeProblem(404, status.message());
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return MakeProblem(409, status.message());
    case StatusCode::kOutOfRange:
      return MakeProblem(422, status.message());
    case StatusCode::kResourceExhausted:
      return TooManyRequests(std::chrono::seconds(1), status.message());
    case StatusCode::kUnavailable:
      return ServiceUnavailable(std::chrono::seconds(1), status.message());
    case StatusCode::kOk:
    case StatusCode::kCorruption:
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      break;
  }
  return MakeProblem(500, "the server could not complete the request");
}

}  // namespace meterd::http
