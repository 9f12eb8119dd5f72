#include "tests/tools/fake_daemon.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>

namespace meterd::loadgen::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

constexpr const char* kEventFields[] = {"id",           "entitlement_id", "meter_id",
                                        "resource_uri", "quantity",       "timestamp"};

// What is wrong with one usage line, or empty when it is an event the contract accepts.
std::string LineProblem(std::string_view line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) return "not JSON: " + std::string(line.substr(0, 80));
  if (!v.is_object()) return "not an object";
  const json::object& o = v.as_object();
  for (const char* field : kEventFields) {
    auto it = o.find(field);
    if (it == o.end()) return std::string("missing ") + field;
    bool ok = it->value().is_string()
                  ? !it->value().as_string().empty()
                  : std::string_view(field) == "quantity" && it->value().is_number();
    if (!ok) return std::string("bad ") + field;
  }
  if (o.size() != std::size(kEventFields)) return "unexpected fields";
  return "";
}

}  // namespace

FakeDaemon::FakeDaemon(FakeDaemonOptions options) : options_(std::move(options)), acceptor_(ioc_) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FakeDaemon::~FakeDaemon() {
  stopping_ = true;
  beast::error_code ignored;
  // Unblock accept() with a connection of our own, then close.
  {
    tcp::socket poke(ioc_);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
  }
  accept_thread_.join();
  acceptor_.close(ignored);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : sockets_) s->shutdown(tcp::socket::shutdown_both, ignored);
    threads.swap(connection_threads_);
  }
  for (std::thread& t : threads) t.join();
}

FakeDaemonState FakeDaemon::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

void FakeDaemon::AcceptLoop() {
  for (;;) {
    tcp::socket socket(ioc_);
    beast::error_code ec;
    acceptor_.accept(socket, ec);
    if (stopping_) return;
    if (ec) continue;
    std::lock_guard<std::mutex> lock(mu_);
    ++state_.connections;
    connection_threads_.emplace_back(
        [this, s = std::move(socket)]() mutable { Serve(std::move(s)); });
  }
}

std::string FakeDaemon::AnswerUsage(const std::string& body) {
  uint64_t accepted = 0, duplicates = 0, rejected = 0;
  std::lock_guard<std::mutex> lock(mu_);
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    std::string_view line(body.data() + start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    ++state_.usage_lines;
    std::string problem = LineProblem(line);
    if (!problem.empty()) {
      ++rejected;
      ++state_.bad_lines;
      if (state_.problems.size() < 20) state_.problems.push_back(problem);
      continue;
    }
    json::object o = json::parse(line).as_object();
    std::string identity =
        std::string(o["entitlement_id"].as_string()) + "\n" + std::string(o["id"].as_string());
    if (seen_events_.insert(identity).second) {
      ++accepted;
    } else {
      ++duplicates;
    }
  }
  state_.accepted += accepted;
  state_.duplicates += duplicates;
  return "{\"accepted\":" + std::to_string(accepted) +
         ",\"duplicates\":" + std::to_string(duplicates) +
         ",\"rejected\":" + std::to_string(rejected) + ",\"errors\":[]}";
}

void FakeDaemon::Serve(tcp::socket socket) {
  auto shared = std::make_shared<tcp::socket>(std::move(socket));
  {
    std::lock_guard<std::mutex> lock(mu_);
    sockets_.push_back(shared);
  }
  beast::flat_buffer buffer;
  std::string last_refused_body;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    beast::error_code ec;
    http::read(*shared, buffer, parser, ec);
    if (ec || stopping_) return;
    http::request<http::string_body> req = parser.release();
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    const std::string target(req.target());
    if (req[http::field::authorization] != "Bearer " + options_.token) {
      std::lock_guard<std::mutex> lock(mu_);
      ++state_.unauthorized;
      res.result(http::status::unauthorized);
      res.set(http::field::content_type, "application/problem+json");
      res.body() = R"({"type":"about:blank","title":"Unauthorized","status":401})";
    } else if (req.method() == http::verb::post && target == "/v1/usage") {
      bool refuse = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++state_.usage_requests;
        if (!last_refused_body.empty() && req.body() == last_refused_body) {
          ++state_.retried_with_same_body;
        }
        last_refused_body.clear();
        refuse = options_.throttle_every > 0 &&
                 state_.usage_requests % static_cast<uint64_t>(options_.throttle_every) == 0;
        if (refuse) ++state_.throttled;
      }
      if (options_.delay_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(options_.delay_ms));
      }
      if (refuse) {
        last_refused_body = req.body();
        res.result(options_.throttle_status);
        res.set(http::field::retry_after, "0");
        res.set(http::field::content_type, "application/problem+json");
        res.body() = R"({"type":"about:blank","title":"Busy","status":429})";
      } else {
        res.body() = AnswerUsage(req.body());
      }
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      state_.other_requests.push_back({std::string(req.method_string()), target,
                                       std::string(req[http::field::content_type]), req.body()});
      if (target == "/v1/reference" || target == "/v1/pricesheet") {
        size_t lines = 0;
        for (char c : req.body()) lines += c == '\n';
        if (target == "/v1/pricesheet" && lines > 0) --lines;  // the header row
        res.body() = "{\"upserted\":" + std::to_string(lines) +
                     ",\"rejected\":0,\"errors\":[],\"rerated_lines\":0}";
      } else if (target.rfind("/v1/fx/", 0) == 0) {
        res.body() = R"({"currencies":1,"rerated_lines":0})";
      } else if (target.rfind("/v1/customers/", 0) == 0) {
        res.body() = req.body();
      } else {
        res.result(http::status::not_found);
        res.body() = R"({"type":"about:blank","title":"Not Found","status":404})";
      }
    }
    res.keep_alive(req.keep_alive() && !options_.close_after_each);
    res.prepare_payload();
    http::write(*shared, res, ec);
    if (ec || !res.keep_alive()) {
      shared->shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
  }
}

}  // namespace meterd::loadgen::testing
