#include "tools/meterctl/http_client.h"

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <utility>

namespace meterd::meterctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// In-memory answers (JSON pages, problem documents) stay far below this; exports go to files.
constexpr uint64_t kMaxInMemoryBody = uint64_t{1} << 30;

http::verb VerbOf(Method m) {
  switch (m) {
    case Method::kGet:
      return http::verb::get;
    case Method::kPost:
      return http::verb::post;
    case Method::kPut:
      return http::verb::put;
    case Method::kDelete:
      return http::verb::delete_;
  }
  return http::verb::get;
}

std::string MediaType(std::string_view content_type) {
  std::string out(content_type.substr(0, content_type.find(';')));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Errors that mean the server closed an idle keep-alive connection before reading our request:
// the request never reached it, so sending it again on a fresh connection is safe.
bool IsStaleConnection(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

// Retry-After in seconds (the only form meterd sends); nullopt when absent or not a number.
std::optional<int64_t> RetryAfterSeconds(std::string_view value) {
  if (value.empty() || value.size() > 9) return std::nullopt;
  int64_t s = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    s = s * 10 + (c - '0');
  }
  return s;
}

}  // namespace

struct HttpClient::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;

  // Runs one asynchronous operation to completion on this thread under a deadline. start
  // receives the completion handler to pass to the async call.
  template <typename Start>
  error_code Run(Start&& start, std::chrono::milliseconds deadline) {
    error_code result = asio::error::would_block;
    stream.expires_after(deadline);
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  void Close() {
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    connected = false;
  }

  Status Connect(const Endpoint& ep, std::chrono::milliseconds deadline) {
    if (connected) return Status::Ok();
    tcp::resolver resolver(ioc);
    error_code ec;
    auto results = resolver.resolve(ep.host, ep.port, ec);
    if (ec) {
      return Status::Unavailable("cannot resolve " + ep.host + ": " + ec.message());
    }
    ec = Run([&](auto handler) { stream.async_connect(results, std::move(handler)); }, deadline);
    if (ec) {
      Close();
      return Status::Unavailable("cannot connect to " + ep.host + ":" + ep.port + ": " +
                                 (ec == beast::error::timeout ? "timed out" : ec.message()));
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    connected = true;
    return Status::Ok();
  }
};

HttpClient::HttpClient(Endpoint endpoint, std::string token, ClientOptions options)
    : endpoint_(std::move(endpoint)),
      token_(std::move(token)),
      options_(options),
      impl_(std::make_unique<Impl>()) {}

HttpClient::~HttpClient() {
  if (impl_->connected) impl_->Close();
}

Result<Endpoint> ParseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    if (url.substr(0, 8) == "https://") {
      return Status::InvalidArgument(
          "https is not supported: meterd speaks plain HTTP on loopback; reach a remote daemon "
          "through an SSH tunnel or the TLS proxy in front of it (docs/meterctl.md)");
    }
    return Status::InvalidArgument("URL must start with http://: " + std::string(url));
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  Endpoint ep;
  ep.port = "80";
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return Status::InvalidArgument("bad IPv6 host in " + std::string(url));
    ep.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument("bad URL " + std::string(url));
      ep.port = std::string(after.substr(1));
    }
  } else {
    const size_t colon = authority.rfind(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) ep.port = std::string(authority.substr(colon + 1));
  }
  if (ep.host.empty()) return Status::InvalidArgument("URL has no host: " + std::string(url));
  if (ep.port.empty() || ep.port.size() > 5 ||
      ep.port.find_first_not_of("0123456789") != std::string::npos || std::stoi(ep.port) == 0 ||
      std::stoi(ep.port) > 65535) {
    return Status::InvalidArgument("bad port in URL " + std::string(url));
  }
  ep.base_path = std::string(path);
  return ep;
}

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kDelete:
      return "DELETE";
  }
  return "GET";
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

Result<HttpResponse> HttpClient::Send(Method method, std::string_view target,
                                      std::string_view content_type, std::string body,
                                      std::chrono::milliseconds extra_time) {
  const std::chrono::milliseconds deadline = options_.timeout + extra_time;
  int retries = 0;
  while (true) {
    http::request<http::string_body> req{VerbOf(method), endpoint_.base_path + std::string(target),
                                         11};
    req.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
    req.set(http::field::user_agent, "meterctl");
    req.set(http::field::accept, "application/json");
    if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();

    Impl& im = *impl_;
    // A reused connection may have been closed by the server while idle; one fresh attempt.
    const bool reused = im.connected;
    METERD_RETURN_IF_ERROR(im.Connect(endpoint_, deadline));
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxInMemoryBody);
    error_code ec = im.Run(
        [&](auto handler) { http::async_write(im.stream, req, std::move(handler)); }, deadline);
    if (!ec) {
      ec = im.Run(
          [&](auto handler) { http::async_read(im.stream, im.buffer, parser, std::move(handler)); },
          deadline);
    }
    if (ec) {
      const bool nothing_read = !parser.got_some();
      im.Close();
      if (reused && nothing_read && IsStaleConnection(ec)) continue;
      if (ec == beast::error::timeout) {
        return Status::Unavailable("no answer from " + endpoint_.host + ":" + endpoint_.port +
                                   " within " + std::to_string(deadline.count()) + " ms");
      }
      if (ec.category() == error_code(http::error::bad_version).category() &&
          ec != http::error::end_of_stream) {
        return Status::InvalidArgument("malformed HTTP answer: " + ec.message());
      }
      return Status::Unavailable("connection to " + endpoint_.host + ":" + endpoint_.port +
                                 " failed: " + ec.message());
    }
    http::response<http::string_body> res = parser.release();
    if (!res.keep_alive()) im.Close();
    const int status = static_cast<int>(res.result_int());
    if ((status == 429 || status == 503) && retries < options_.max_retries) {
      std::optional<int64_t> wait = RetryAfterSeconds(res[http::field::retry_after]);
      if (wait && *wait <= options_.max_retry_wait.count()) {
        ++retries;
        std::this_thread::sleep_for(std::chrono::seconds(*wait));
        continue;
      }
    }
    HttpResponse out;
    out.status = status;
    out.content_type = MediaType(res[http::field::content_type]);
    out.body_bytes = res.body().size();
    out.body = std::move(res.body());
    return out;
  }
}

Result<HttpResponse> HttpClient::Download(std::string_view target, const std::string& path) {
  const std::chrono::milliseconds deadline = options_.timeout;
  Impl& im = *impl_;
  for (int attempt = 0;; ++attempt) {
    http::request<http::empty_body> req{http::verb::get, endpoint_.base_path + std::string(target),
                                        11};
    req.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
    req.set(http::field::user_agent, "meterctl");
    if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
    req.keep_alive(true);

    const bool reused = im.connected;
    METERD_RETURN_IF_ERROR(im.Connect(endpoint_, deadline));
    http::response_parser<http::empty_body> head;
    head.body_limit(boost::none);
    error_code ec = im.Run(
        [&](auto handler) { http::async_write(im.stream, req, std::move(handler)); }, deadline);
    if (!ec) {
      ec = im.Run(
          [&](auto handler) {
            http::async_read_header(im.stream, im.buffer, head, std::move(handler));
          },
          deadline);
    }
    if (ec) {
      const bool nothing_read = !head.got_some();
      im.Close();
      if (reused && nothing_read && IsStaleConnection(ec) && attempt == 0) continue;
      return Status::Unavailable(
          "connection to " + endpoint_.host + ":" + endpoint_.port +
          " failed: " + (ec == beast::error::timeout ? "timed out" : ec.message()));
    }
    const int status = static_cast<int>(head.get().result_int());
    HttpResponse out;
    out.status = status;
    out.content_type = MediaType(head.get()[http::field::content_type]);
    if (status < 200 || status > 299) {
      // Errors are small problem documents: read them into memory, never into the file.
      http::response_parser<http::string_body> rest(std::move(head));
      rest.body_limit(kMaxInMemoryBody);
      ec = im.Run(
          [&](auto handler) { http::async_read(im.stream, im.buffer, rest, std::move(handler)); },
          deadline);
      if (ec) {
        im.Close();
        return Status::Unavailable("connection lost while reading the answer: " + ec.message());
      }
      if (!rest.get().keep_alive()) im.Close();
      out.body = std::move(rest.get().body());
      out.body_bytes = out.body.size();
      return out;
    }

    const std::string partial = path + ".partial";
    http::response_parser<http::file_body> file_parser(std::move(head));
    file_parser.body_limit(boost::none);
    file_parser.get().body().open(partial.c_str(), beast::file_mode::write, ec);
    if (ec) {
      im.Close();
      return Status::IoError("cannot write " + partial + ": " + ec.message());
    }
    uint64_t received = 0;
    while (!file_parser.is_done()) {
      size_t n = 0;
      ec = im.Run(
          [&](auto handler) {
            http::async_read_some(im.stream, im.buffer, file_parser,
                                  [&n, h = std::move(handler)](error_code e, size_t bytes) mutable {
                                    n = bytes;
                                    h(e, bytes);
                                  });
          },
          deadline);
      received += n;
      if (ec) break;
    }
    Status st;
    if (ec) {
      st = Status::Unavailable(
          "download of " + std::string(target) + " interrupted after " + std::to_string(received) +
          " bytes: " + (ec == beast::error::timeout ? "timed out" : ec.message()));
      im.Close();
    } else if (fsync(file_parser.get().body().file().native_handle()) != 0) {
      st = Status::IoError("fsync " + partial + " failed");
    }
    error_code close_ec;
    file_parser.get().body().file().close(close_ec);
    if (st.ok() && close_ec) st = Status::IoError("close " + partial + ": " + close_ec.message());
    if (st.ok() && std::rename(partial.c_str(), path.c_str()) != 0) {
      st = Status::IoError("cannot rename " + partial + " to " + path);
    }
    if (!st.ok()) {
      std::remove(partial.c_str());
      return st;
    }
    if (!file_parser.get().keep_alive()) im.Close();
    std::error_code size_ec;
    out.body_bytes = std::filesystem::file_size(path, size_ec);
    return out;
  }
}

}  // namespace meterd::meterctl
