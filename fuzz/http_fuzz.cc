// libFuzzer target: whatever bytes a client can send meterd's HTTP port. The input goes over a
// loopback connection to an in-process server built exactly as main.cc builds it (the real
// Beast parser with the configured limits, the router, authentication and scope, every /v1
// handler) over a real engine on a scratch LMDB store loaded with the "basic" example. The
// connection is the daemon's own code, not a copy of it, which is why this is not socket-free.
//
// Tokens cannot be guessed by a fuzzer, so inputs name them: "$ADMIN", "$INGEST", "$PARTNER"
// (partner of the basic example) and "$RESELLER" are replaced by real bearer tokens first.
//
// Checked on every input besides memory safety: the client half-closes after sending, so every
// answer must arrive promptly and the connection must end; every answer parses as HTTP/1.1
// with a known status; no answer is a 500 (a handler that threw or dropped its request); and
// every problem+json answer carries its own status in the body.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "daemon/api/api.h"
#include "daemon/auth/token_table.h"
#include "daemon/config/config.h"
#include "daemon/core/engine.h"
#include "daemon/core/engine_metrics.h"
#include "daemon/http/health.h"
#include "daemon/http/router.h"
#include "daemon/http/server.h"
#include "daemon/lifecycle/log.h"
#include "daemon/metrics/metrics.h"
#include "daemon/webhooks/webhooks.h"
#include "rating/civil_time.h"
#include "storage/env.h"
#include "storage/writer.h"

namespace {

using namespace meterd;
namespace bhttp = boost::beast::http;

constexpr std::string_view kNow = "2026-11-20T12:00:00Z";
constexpr std::string_view kPartner = "7d3f1c2a-0000-4000-8000-000000000001";
constexpr std::string_view kResellerMpn = "6123456";
// A request without `wait` is answered at once; a long poll may legitimately take 60 s.
constexpr int kAnswerTimeoutMs = 10'000;

void Fail(const std::string& what) {
  std::fprintf(stderr, "invariant violated: %s\n", what.c_str());
  std::abort();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sends `bytes`, half-closes and reads until the server closes. Returns false when the server
// neither answered nor closed within the timeout.
bool Exchange(uint16_t port, std::string_view bytes, std::string* answer, int timeout_ms) {
  answer->clear();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Fail("socket");
  // Each exchange ends in TIME_WAIT on our side (we close first), which holds its 4-tuple for
  // a minute: at hundreds of inputs a second one source address runs out of ephemeral ports.
  // So the source address walks through 127.0.0.0/8 (every address there is loopback).
  static uint32_t next_source = 0;
  const uint32_t n = next_source++;
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr =
      htonl(0x7f000000u | ((1 + n % 250) << 16) | ((1 + n / 250 % 250) << 8) | 2);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
    Fail("bind: " + std::string(std::strerror(errno)));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    // libFuzzer's timer signal can interrupt connect; the connection then completes (or
    // fails) asynchronously, which SO_ERROR reports once the socket is writable.
    if (errno != EINTR) Fail("connect: " + std::string(std::strerror(errno)));
    pollfd w{fd, POLLOUT, 0};
    while (::poll(&w, 1, 5'000) < 0 && errno == EINTR) {
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) Fail("connect: " + std::string(std::strerror(err)));
  }
  // Write and read interleaved: the server may answer (and stop reading) before we are done.
  size_t sent = 0;
  bool shut = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[65536];
  while (true) {
    if (!shut && sent == bytes.size()) {
      ::shutdown(fd, SHUT_WR);
      shut = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      ::close(fd);
      return false;
    }
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    if (p.revents & POLLIN) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // closed (or reset after an error answer): done
      answer->append(buf, static_cast<size_t>(n));
    } else if (p.revents & POLLOUT) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {  // the server closed its side: stop sending, read what it said
        ::shutdown(fd, SHUT_WR);
        shut = true;
      } else {
        sent += static_cast<size_t>(n);
      }
    } else if (p.revents & (POLLHUP | POLLERR)) {
      break;
    }
  }
  ::close(fd);
  return true;
}

// Parses every response in `answer` and checks it; returns their statuses. `may_head`: the
// input holds a HEAD request, whose answer has a Content-Length but no body; which answer
// belongs to it is not tracked, so an answer whose header is followed by the end or by the
// next status line is taken as one.
std::vector<int> CheckAnswers(std::string_view answer, bool may_head) {
  std::vector<int> statuses;
  while (!answer.empty()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    parser.eager(true);
    boost::beast::error_code ec;
    bool headers_only = false;
    if (may_head) {
      bhttp::response_parser<bhttp::string_body> head;
      head.skip(true);
      const size_t n = head.put(boost::asio::buffer(answer.data(), answer.size()), ec);
      const std::string_view rest = answer.substr(std::min(n, answer.size()));
      if (!ec && head.is_header_done() && (rest.empty() || rest.rfind("HTTP/1.", 0) == 0)) {
        parser.skip(true);
        headers_only = true;
      }
      ec = {};
    }
    const size_t used = parser.put(boost::asio::buffer(answer.data(), answer.size()), ec);
    if (ec == bhttp::error::need_more) {
      Fail("truncated HTTP response: " + std::string(answer.substr(0, 300)));
    }
    if (ec) Fail("unparseable HTTP response (" + ec.message() + "): " +
                 std::string(answer.substr(0, 300)));
    answer.remove_prefix(used);
    if (!parser.is_done()) {
      // Without Content-Length or chunking a body ends at the close. Only an HTTP/1.0 client
      // (no chunked encoding) may get that, for a streamed answer, and it must be the last.
      if (!parser.is_header_done() || parser.get().version() != 10) {
        Fail("response without a length: " + std::string(answer.substr(0, 300)));
      }
      if (!answer.empty()) parser.put(boost::asio::buffer(answer.data(), answer.size()), ec);
      if (ec == bhttp::error::need_more) ec = {};
      if (!ec) parser.put_eof(ec);
      if (ec) Fail("close-delimited response: " + ec.message());
      answer = {};
    }
    const auto& res = parser.get();
    const int status = static_cast<int>(res.result_int());
    statuses.push_back(status);
    if (status < 100 || status > 599) Fail("status out of range");
    if (status == 500) Fail("500 answer: " + res.body());
    const std::string_view type = res[bhttp::field::content_type];
    if (type.rfind("application/problem+json", 0) == 0 && !headers_only) {
      if (res.body().find("\"status\":" + std::to_string(status)) == std::string::npos) {
        Fail("problem+json without its status: " + res.body());
      }
    }
    if ((status == 503 || status == 429) && res[bhttp::field::retry_after].empty()) {
      Fail("503/429 without Retry-After");
    }
  }
  return statuses;
}

std::string Request(uint16_t port, std::string_view method, std::string_view target,
                    std::string_view token, std::string_view type, std::string_view body,
                    int* status) {
  std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + std::string(token) + "\r\n";
  if (!type.empty()) req += "Content-Type: " + std::string(type) + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  req += body;
  std::string answer;
  if (!Exchange(port, req, &answer, 30'000)) Fail("setup request timed out");
  const size_t head_end = answer.find("\r\n\r\n");
  *status = answer.size() > 12 ? std::atoi(answer.c_str() + 9) : 0;
  return head_end == std::string::npos ? std::string() : answer.substr(head_end + 4);
}

// The token of a POST /v1/tokens answer ({"token_id":...,"token":"..."}).
std::string TokenOf(const std::string& body) {
  const std::string key = "\"token\":\"";
  const size_t at = body.find(key);
  if (at == std::string::npos) Fail("no token in " + body);
  const size_t start = at + key.size();
  return body.substr(start, body.find('"', start) - start);
}

// The daemon, composed like main.cc, for the whole fuzzing process.
struct Daemon {
  std::filesystem::path dir;
  config::Config cfg;
  std::unique_ptr<storage::Env> env;
  std::unique_ptr<storage::Writer> writer;
  std::unique_ptr<core::Engine> engine;
  std::unique_ptr<webhooks::WebhookService> webhooks;
  std::unique_ptr<metrics::Metrics> metrics;
  auth::TokenTable tokens;
  boost::asio::thread_pool control{1};
  api::ApiContext context;
  std::unique_ptr<http::Server> server;
  uint16_t port = 0;
  std::string admin, ingest, partner, reseller;

  void Start() {
    lifecycle::SetLogLevel(lifecycle::LogLevel::kError);  // 4xx are the point, not news
    char tmpl[] = "/tmp/meterd-http-fuzz.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) Fail("mkdtemp");
    dir = tmpl;
    cfg.storage.data_dir = dir.string();
    cfg.server.listen_port = 0;
    cfg.server.io_threads = 1;  // fewer interleavings to reproduce
    storage::EnvOptions eo;
    eo.sync = storage::SyncMode::kNone;  // durability is the crash harness's business
    eo.map_size = uint64_t{256} << 20;
    eo.map_growth_step = uint64_t{256} << 20;
    eo.max_map_size = uint64_t{8} << 30;
    auto e = storage::Env::Open(cfg.storage.data_dir, eo);
    if (!e.ok()) Fail("env: " + e.status().ToString());
    env = std::move(e).value();
    auto w = storage::Writer::Start(env.get(), storage::WriterOptions{});
    if (!w.ok()) Fail("writer: " + w.status().ToString());
    writer = std::move(w).value();
    rating::Timestamp now;
    if (!rating::ParseRfc3339(kNow, &now)) Fail("clock");
    core::EngineOptions options;
    options.shards = 2;
    options.now = [now] { return now; };
    if (rating::Decimal::Parse("0.15", &options.rating.pec_rate) != rating::DecimalError::kOk) {
      Fail("pec");
    }
    options.rating.eligible_roles = cfg.rating.eligible_roles;
    engine = std::make_unique<core::Engine>(env.get(), writer.get(), options);
    Status st = engine->Start();
    if (!st.ok()) Fail("engine: " + st.ToString());
    webhooks = std::make_unique<webhooks::WebhookService>(engine.get(), env.get(), writer.get(),
                                                          cfg.webhooks);
    st = webhooks->Start();
    if (!st.ok()) Fail("webhooks: " + st.ToString());
    metrics = std::make_unique<metrics::Metrics>(METERD_VERSION);
    core::RegisterEngineMetrics(*metrics, *engine, *writer, *env);
    context.engine = engine.get();
    context.env = env.get();
    context.writer = writer.get();
    context.tokens = &tokens;
    context.config = &cfg;
    context.control = &control;
    context.webhooks = webhooks.get();
    auto boot = api::BootstrapTokens(&context);
    if (!boot.ok() || !*boot) Fail("bootstrap tokens");
    http::Router router;
    st = http::AddHealthRoutes(router, [] { return true; });
    if (st.ok()) st = metrics::AddMetricsRoute(router, *metrics);
    if (st.ok()) st = api::RegisterRoutes(router, &context);
    if (!st.ok()) Fail("routes: " + st.ToString());
    server = std::make_unique<http::Server>(cfg.server, std::move(router), &metrics->registry());
    context.io_executor = [this] { return server->executor(); };
    st = server->Start();
    if (!st.ok()) Fail("listen: " + st.ToString());
    port = server->port();
    admin = ReadFile(**boot);
    while (!admin.empty() && (admin.back() == '\n' || admin.back() == '\r')) admin.pop_back();
    LoadExample();
  }

  void LoadExample() {
    const std::string ex = std::string(METERD_SOURCE_DIR) + "/tests/fixtures/examples/basic/";
    int status = 0;
    Request(port, "POST", "/v1/reference", admin, "application/x-ndjson",
            ReadFile(ex + "reference.ndjson"), &status);
    if (status != 200) Fail("reference load");
    Request(port, "POST", "/v1/pricesheet", admin, "text/csv", ReadFile(ex + "pricesheet.csv"),
            &status);
    if (status != 200) Fail("price sheet load");
    Request(port, "PUT", "/v1/fx/2026-11", admin, "application/json",
            R"({"rates":{"EUR":"0.92","NOK":"11.05"}})", &status);
    Request(port, "PUT", "/v1/customers/c0ffee00-0000-4000-8000-000000000001/budget", admin,
            "application/json", R"({"amount":"100","basis":"list","thresholds":[50,80,100]})",
            &status);
    Request(port, "POST", "/v1/usage", admin, "application/x-ndjson",
            ReadFile(ex + "usage.ndjson"), &status);
    if (status != 200) Fail("usage load");
    ingest = TokenOf(Request(port, "POST", "/v1/tokens", admin, "application/json",
                             R"({"role":"ingest"})", &status));
    partner = TokenOf(Request(port, "POST", "/v1/tokens", admin, "application/json",
                              R"({"role":"partner","partner_id":")" + std::string(kPartner) +
                                  "\"}",
                              &status));
    std::string body = Request(port, "POST", "/v1/tokens", admin, "application/json",
                               R"({"role":"reseller","mpn_id":")" + std::string(kResellerMpn) +
                                   "\"}",
                               &status);
    reseller = status == 201 ? TokenOf(body) : "no-reseller";
  }

  void Stop() {
    server->Shutdown(std::chrono::milliseconds(1000));
    control.join();
    webhooks->Stop();
    engine->Stop();
    writer->Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Daemon* g_daemon = nullptr;

void ReplaceAll(std::string* s, std::string_view from, std::string_view to) {
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}

bool MayLongPoll(std::string_view input) {
  std::string lower(input);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // "wait", or an escape that could spell it in a query name.
  return lower.find("wait") != std::string::npos || lower.find("w%") != std::string::npos ||
         lower.find("%57") != std::string::npos || lower.find("%77") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_daemon = new Daemon();
  g_daemon->Start();
  // libFuzzer ends with exit(): stop the threads first, and leave no store behind.
  std::atexit([] { g_daemon->Stop(); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  ReplaceAll(&input, "$ADMIN", g_daemon->admin);
  ReplaceAll(&input, "$INGEST", g_daemon->ingest);
  ReplaceAll(&input, "$PARTNER", g_daemon->partner);
  ReplaceAll(&input, "$RESELLER", g_daemon->reseller);
  std::string answer;
  const bool long_poll = MayLongPoll(input);
  if (!Exchange(g_daemon->port, input, &answer, long_poll ? 1'000 : kAnswerTimeoutMs)) {
    // A long poll holds its answer by design; anything else must be answered or closed.
    if (!long_poll) Fail("no answer and no close within the timeout");
    return 0;
  }
  const std::vector<int> statuses = CheckAnswers(answer, input.find("HEAD ") != std::string::npos);
  // METERD_FUZZ_VERBOSE=1 prints what each input was answered, to see that seeds reach their
  // handlers (authenticated, routed) rather than bouncing off 401/404.
  static const bool verbose = std::getenv("METERD_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::string line = input.substr(0, std::min(input.find('\r'), size_t{60})) + " ->";
    for (int st : statuses) line += " " + std::to_string(st);
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  return 0;
}
