#include "tools/loadgen/http_load.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <utility>

#include "tools/loadgen/json_scan.h"

namespace meterd::loadgen {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
// Expected I/O failures come back as values (error codes), never as exceptions.
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;
constexpr size_t kMaxErrorSamples = 5;
constexpr size_t kAnswerLimit = 1 << 20;  // the contract's answers are small

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Retry-After in delta-seconds; an HTTP-date or garbage waits one second.
int64_t RetryAfterNs(std::string_view header) {
  std::optional<uint64_t> seconds = JsonUint(header);
  if (!seconds) return kSecond;
  return static_cast<int64_t>(std::min<uint64_t>(*seconds, 3600)) * kSecond;
}

std::string Excerpt(std::string_view body) {
  constexpr size_t kMax = 300;
  std::string s(body.substr(0, kMax));
  if (body.size() > kMax) s += "…";
  return s;
}

std::string HostHeader(const HttpEndpoint& e) {
  bool ipv6 = e.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + e.host + "]" : e.host) + ":" + e.port;
}

void CloseStream(beast::tcp_stream& stream) {
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.close();
}

// The run's shared state. Everything runs on one Asio thread, so nothing here needs a lock.
class LoadRun {
 public:
  LoadRun(const LoadOptions& options, FeedGenerator* feed, tcp::resolver::results_type endpoints)
      : options_(options), feed_(feed), endpoints_(std::move(endpoints)) {
    start_ns_ = NowNs();
    deadline_ns_ = options.duration_ms > 0 ? start_ns_ + options.duration_ms * kMs
                                           : std::numeric_limits<int64_t>::max();
    schedule_base_ns_ = start_ns_;
    batch_ = options.batch;
    // A rate below the batch size would send one burst every few seconds: send smaller
    // batches at least once a second instead.
    if (options.rate > 0) batch_ = std::min<uint64_t>(batch_, std::max<uint64_t>(1, options.rate));
    report_.connections = options.connections;
    host_ = HostHeader(options.endpoint);
    authorization_ = "Bearer " + options.token;
  }

  const LoadOptions& options() const { return options_; }
  FeedGenerator* feed() { return feed_; }
  const tcp::resolver::results_type& endpoints() const { return endpoints_; }
  LoadReport& report() { return report_; }
  const std::string& host() const { return host_; }
  const std::string& authorization() const { return authorization_; }
  size_t batch() const { return batch_; }
  bool stopping() const { return stopping_; }
  bool aborted() const { return aborted_; }
  int64_t drain_deadline_ns() const { return drain_deadline_ns_; }

  // How many events the next batch may take; 0 once the run is over.
  size_t TakeBatch() {
    if (stopping_ || aborted_) return 0;
    if (NowNs() >= deadline_ns_) {
      Stop();
      return 0;
    }
    uint64_t n = batch_;
    if (options_.max_events > 0) {
      // Running out of events is not a stop: batches already taken still go out on schedule.
      n = std::min<uint64_t>(n, options_.max_events - issued_);
      if (n == 0) return 0;
    }
    issued_ += n;
    return static_cast<size_t>(n);
  }

  // When a batch of n events may be sent under the target rate (a schedule by cumulative
  // events, so rounding never drifts). After a stall of more than a second the schedule
  // restarts from now instead of bursting to catch up.
  int64_t SlotFor(size_t n) {
    int64_t now = NowNs();
    __int128 offset =
        static_cast<__int128>(scheduled_ - schedule_base_events_) * kSecond / options_.rate;
    int64_t due = schedule_base_ns_ + static_cast<int64_t>(offset);
    if (now - due > kSecond) {
      schedule_base_ns_ = now;
      schedule_base_events_ = scheduled_;
      due = now;
    }
    scheduled_ += n;
    return due;
  }

  bool PastDeadline() const { return NowNs() >= deadline_ns_; }

  void Stop() {
    if (stopping_) return;
    stopping_ = true;
    drain_deadline_ns_ = NowNs() + options_.drain_timeout_ms * kMs;
  }
  void Abort(std::string why) {
    if (report_.fatal.empty()) report_.fatal = std::move(why);
    aborted_ = true;
    Stop();
  }
  void NoteAnswer() { last_answer_ns_ = NowNs(); }
  void SampleError(std::string sample) {
    if (report_.error_samples.size() < kMaxErrorSamples) {
      report_.error_samples.push_back(std::move(sample));
    }
  }
  void Finish() {
    int64_t end = last_answer_ns_ > 0 ? last_answer_ns_ : NowNs();
    report_.elapsed_ns = end - start_ns_;
  }

 private:
  LoadOptions options_;
  FeedGenerator* feed_;
  tcp::resolver::results_type endpoints_;
  LoadReport report_;
  std::string host_;
  std::string authorization_;
  size_t batch_ = 0;
  int64_t start_ns_ = 0;
  int64_t deadline_ns_ = 0;
  int64_t drain_deadline_ns_ = std::numeric_limits<int64_t>::max();
  int64_t last_answer_ns_ = 0;
  uint64_t issued_ = 0;
  uint64_t scheduled_ = 0;
  uint64_t schedule_base_events_ = 0;
  int64_t schedule_base_ns_ = 0;
  bool stopping_ = false;
  bool aborted_ = false;
};

enum class WakeOn { kAbort, kStopOrAbort };

// Sleeps in short slices so a stop or an abort is noticed promptly.
asio::awaitable<void> SleepFor(const LoadRun& run, int64_t ns, WakeOn wake) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const int64_t until = NowNs() + ns;
  for (;;) {
    if (run.aborted() || (wake == WakeOn::kStopOrAbort && run.stopping())) co_return;
    int64_t left = until - NowNs();
    if (left <= 0) co_return;
    timer.expires_after(std::chrono::nanoseconds(std::min<int64_t>(left, 100 * kMs)));
    co_await timer.async_wait(kAwait);
  }
}

int64_t BackoffNs(int failures) {
  return std::min<int64_t>(100 * kMs << std::min(failures - 1, 5), 2 * kSecond);
}

void CountAnswer(LoadRun& run, std::string_view body) {
  LoadReport& r = run.report();
  Result<std::vector<JsonMember>> members = TopLevelMembers(body);
  std::optional<uint64_t> accepted, duplicates, rejected;
  if (members.ok()) {
    if (auto v = FindMember(*members, "accepted")) accepted = JsonUint(*v);
    if (auto v = FindMember(*members, "duplicates")) duplicates = JsonUint(*v);
    if (auto v = FindMember(*members, "rejected")) rejected = JsonUint(*v);
  }
  if (!accepted || !duplicates || !rejected) {
    ++r.unparsed_answers;
    run.SampleError("200 without readable counts: " + Excerpt(body));
    return;
  }
  r.accepted += *accepted;
  r.duplicates += *duplicates;
  r.rejected += *rejected;
  if (*rejected > 0) run.SampleError("200 with rejected lines: " + Excerpt(body));
}

// One connection: take a batch, wait for its slot, send it until the daemon acknowledges it.
asio::awaitable<void> RunConnection(LoadRun& run) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  bool connected = false;
  beast::flat_buffer buffer;
  std::string body;
  body.reserve(run.batch() * 400);
  using Request = http::request<http::span_body<const char>>;
  Request req{http::verb::post, "/v1/usage", 11};
  req.set(http::field::host, run.host());
  req.set(http::field::authorization, run.authorization());
  req.set(http::field::content_type, "application/x-ndjson");
  req.set(http::field::user_agent, "meter-loadgen");
  req.keep_alive(true);
  const auto timeout = std::chrono::milliseconds(run.options().request_timeout_ms);
  LoadReport& report = run.report();
  int transport_failures = 0;

  for (;;) {
    const size_t n = run.TakeBatch();
    if (n == 0) break;
    body.clear();
    int64_t g0 = NowNs();
    run.feed()->AppendBatch(n, &body);
    report.generate_ns += NowNs() - g0;
    if (run.options().rate > 0) {
      int64_t due = run.SlotFor(n);
      if (due > NowNs()) co_await SleepFor(run, due - NowNs(), WakeOn::kStopOrAbort);
      if (run.stopping() || run.PastDeadline()) break;  // its slot fell after the end: unsent
    }
    req.body() = Request::body_type::value_type(body.data(), body.size());
    req.prepare_payload();

    bool sent = false;
    int64_t first_send_ns = 0;
    for (;;) {
      if (run.aborted() || (run.stopping() && NowNs() >= run.drain_deadline_ns())) {
        if (sent) report.unacknowledged_events += n;
        break;
      }
      beast::error_code ec;
      if (!connected) {
        stream.expires_after(timeout);
        auto [cec, ep] = co_await stream.async_connect(run.endpoints(), kAwait);
        ec = cec;
        connected = !ec;
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(kAnswerLimit);
      if (!ec) {
        if (!sent) {
          sent = true;
          first_send_ns = NowNs();
          report.events_sent += n;
          ++report.batches_sent;
        }
        stream.expires_after(timeout);
        auto [wec, written] = co_await http::async_write(stream, req, kAwait);
        ec = wec;
        if (!ec) {
          auto [rec, read] = co_await http::async_read(stream, buffer, parser, kAwait);
          ec = rec;
        }
      }
      if (ec) {
        // The batch may or may not have been applied; re-sending is safe because event ids
        // make it idempotent (the daemon reports the re-sent events as duplicates).
        ++report.transport_errors;
        if (connected) CloseStream(stream);
        connected = false;
        buffer.clear();
        ++transport_failures;
        bool never_reached = report.batches_acknowledged == 0 && transport_failures >= 3;
        if (transport_failures >= 10 || never_reached) {
          run.Abort("cannot reach " + run.host() + ": " + ec.message());
          if (sent) report.unacknowledged_events += n;
          break;
        }
        co_await SleepFor(run, BackoffNs(transport_failures), WakeOn::kAbort);
        continue;
      }
      transport_failures = 0;
      const auto& res = parser.get();
      const unsigned status = res.result_int();
      const bool keep_alive = res.keep_alive();
      run.NoteAnswer();
      if (status == 200) {
        report.latency.Record(NowNs() - first_send_ns);
        report.events_acknowledged += n;
        ++report.batches_acknowledged;
        CountAnswer(run, res.body());
        if (!keep_alive) {
          CloseStream(stream);
          connected = false;
        }
        break;
      }
      if (status == 429 || status == 503) {
        ++(status == 429 ? report.retries_429 : report.retries_503);
        int64_t wait = std::max<int64_t>(RetryAfterNs(res[http::field::retry_after]), kMs);
        if (!keep_alive) {
          CloseStream(stream);
          connected = false;
        }
        co_await SleepFor(run, wait, WakeOn::kAbort);
        continue;
      }
      ++report.http_errors;
      ++report.http_errors_by_class[std::min<unsigned>(status / 100, 5)];
      report.unacknowledged_events += n;
      run.SampleError(std::to_string(status) + ": " + Excerpt(res.body()));
      if (status == 401 || status == 403) {
        run.Abort("the daemon answered " + std::to_string(status) +
                  " to POST /v1/usage: check --token (an ingest or admin token)");
      }
      if (!keep_alive) {
        CloseStream(stream);
        connected = false;
      }
      break;
    }
  }
  if (connected) CloseStream(stream);
}

struct Answer {
  unsigned status = 0;
  std::string body;
};

// A small client for the setup calls: one connection, reconnecting when the daemon closes it,
// retrying 429/503 after Retry-After.
class SetupClient {
 public:
  SetupClient(asio::any_io_executor executor, tcp::resolver::results_type endpoints,
              const HttpEndpoint& endpoint, const std::string& token)
      : stream_(executor),
        endpoints_(std::move(endpoints)),
        host_(HostHeader(endpoint)),
        authorization_("Bearer " + token) {}

  asio::awaitable<Result<Answer>> Call(http::verb verb, std::string target,
                                       std::string content_type, const std::string& body) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, host_);
    req.set(http::field::authorization, authorization_);
    req.set(http::field::content_type, content_type);
    req.set(http::field::user_agent, "meter-loadgen");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int attempt = 1;; ++attempt) {
      beast::error_code ec;
      if (!connected_) {
        stream_.expires_after(std::chrono::seconds(30));
        auto [cec, ep] = co_await stream_.async_connect(endpoints_, kAwait);
        ec = cec;
        connected_ = !ec;
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(kAnswerLimit);
      if (!ec) {
        stream_.expires_after(std::chrono::seconds(300));  // a big price sheet re-rates
        auto [wec, w] = co_await http::async_write(stream_, req, kAwait);
        ec = wec;
        if (!ec) {
          auto [rec, r] = co_await http::async_read(stream_, buffer_, parser, kAwait);
          ec = rec;
        }
      }
      if (ec) {
        if (connected_) CloseStream(stream_);
        connected_ = false;
        buffer_.clear();
        if (attempt >= 3) {
          co_return Status::Unavailable(std::string(http::to_string(verb)) + " " + target + ": " +
                                        ec.message());
        }
        timer.expires_after(std::chrono::milliseconds(200 * attempt));
        co_await timer.async_wait(kAwait);
        continue;
      }
      auto res = parser.release();
      if (!res.keep_alive()) {
        CloseStream(stream_);
        connected_ = false;
      }
      unsigned status = res.result_int();
      if ((status == 429 || status == 503) && attempt < 30) {
        timer.expires_after(std::chrono::nanoseconds(
            std::max<int64_t>(RetryAfterNs(res[http::field::retry_after]), kMs)));
        co_await timer.async_wait(kAwait);
        continue;
      }
      co_return Answer{status, std::move(res.body())};
    }
  }

  void Close() {
    if (connected_) CloseStream(stream_);
    connected_ = false;
  }

 private:
  beast::tcp_stream stream_;
  tcp::resolver::results_type endpoints_;
  std::string host_;
  std::string authorization_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

Status Unexpected(std::string_view what, const Answer& a) {
  return Status::FailedPrecondition(std::string(what) + " answered " + std::to_string(a.status) +
                                    ": " + Excerpt(a.body));
}

// Reads "upserted"/"rejected" of a bulk answer; rejected lines become warnings.
void CountBulk(std::string_view what, const Answer& a, uint64_t* upserted, uint64_t* rejected,
               SetupReport* report) {
  Result<std::vector<JsonMember>> members = TopLevelMembers(a.body);
  if (!members.ok()) {
    report->warnings.push_back(std::string(what) + ": unreadable answer: " + Excerpt(a.body));
    return;
  }
  if (auto v = FindMember(*members, "upserted")) *upserted += JsonUint(*v).value_or(0);
  if (auto v = FindMember(*members, "rejected")) *rejected += JsonUint(*v).value_or(0);
  if (*rejected > 0) {
    auto errors = FindMember(*members, "errors");
    report->warnings.push_back(std::string(what) + ": " + std::to_string(*rejected) +
                               " rejected: " + Excerpt(errors.value_or("")));
  }
}

asio::awaitable<Status> SetupFlow(SetupClient& client, const ReferenceFiles& files,
                                  SetupReport* report) {
  if (!files.reference_ndjson.empty()) {
    Result<Answer> a = co_await client.Call(http::verb::post, "/v1/reference",
                                            "application/x-ndjson", files.reference_ndjson);
    if (!a.ok()) co_return a.status();
    if (a->status != 200) co_return Unexpected("POST /v1/reference", *a);
    CountBulk("reference", *a, &report->reference_upserted, &report->reference_rejected, report);
  }
  if (!files.pricesheet_csv.empty()) {
    Result<Answer> a =
        co_await client.Call(http::verb::post, "/v1/pricesheet", "text/csv", files.pricesheet_csv);
    if (!a.ok()) co_return a.status();
    if (a->status != 200) co_return Unexpected("POST /v1/pricesheet", *a);
    CountBulk("price sheet", *a, &report->prices_upserted, &report->prices_rejected, report);
  }
  if (!files.fx_json.empty()) {
    Result<std::vector<JsonMember>> months = TopLevelMembers(files.fx_json);
    if (!months.ok()) co_return Status::InvalidArgument("fx.json: " + months.status().message());
    for (const JsonMember& m : *months) {
      std::string body = "{\"rates\":";
      body.append(m.value);
      body += "}";
      std::string target = "/v1/fx/" + m.key;
      Result<Answer> a = co_await client.Call(http::verb::put, target, "application/json", body);
      if (!a.ok()) co_return a.status();
      if (a->status != 200) co_return Unexpected("PUT " + target, *a);
      ++report->fx_months;
    }
  }
  if (!files.budgets_json.empty()) {
    Result<std::vector<JsonMember>> budgets = TopLevelMembers(files.budgets_json);
    if (!budgets.ok()) {
      co_return Status::InvalidArgument("budgets.json: " + budgets.status().message());
    }
    for (const JsonMember& b : *budgets) {
      std::string target = "/v1/customers/" + b.key + "/budget";
      Result<Answer> a =
          co_await client.Call(http::verb::put, target, "application/json", std::string(b.value));
      if (!a.ok()) co_return a.status();
      if (a->status != 200) co_return Unexpected("PUT " + target, *a);
      ++report->budgets;
    }
  }
  client.Close();
  co_return Status::Ok();
}

Result<tcp::resolver::results_type> Resolve(asio::io_context& ioc, const HttpEndpoint& e) {
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto results = resolver.resolve(e.host, e.port, ec);
  if (ec) return Status::Unavailable("cannot resolve " + e.host + ": " + ec.message());
  return results;
}

std::string DescribeException(std::exception_ptr p) {
  try {
    std::rethrow_exception(p);
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace

Result<HttpEndpoint> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("--url must start with http:// (TLS is not supported)");
  }
  std::string_view rest = url.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("--url takes no path: http://HOST[:PORT]");
  }
  HttpEndpoint e;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("--url: unclosed '['");
    e.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest.front() != ':') return Status::InvalidArgument("--url: bad port");
    e.port = rest.empty() ? "80" : std::string(rest.substr(1));
  } else {
    size_t colon = rest.rfind(':');
    e.host = std::string(rest.substr(0, colon));
    e.port = colon == std::string_view::npos ? "80" : std::string(rest.substr(colon + 1));
  }
  std::optional<uint64_t> port = JsonUint(e.port);
  if (e.host.empty() || !port || *port == 0 || *port > 65535) {
    return Status::InvalidArgument("--url: expected http://HOST[:PORT], got " + std::string(url));
  }
  return e;
}

Result<LoadReport> RunLoad(const LoadOptions& options, FeedGenerator* feed) {
  if (options.connections < 1 || options.connections > 1024) {
    return Status::InvalidArgument("connections: 1..1024");
  }
  if (options.batch < 1 || options.batch > 1'000'000) {
    return Status::InvalidArgument("batch: 1..1000000 events");
  }
  asio::io_context ioc(1);
  Result<tcp::resolver::results_type> endpoints = Resolve(ioc, options.endpoint);
  if (!endpoints.ok()) return endpoints.status();
  LoadRun run(options, feed, std::move(*endpoints));

  asio::signal_set signals(ioc);
  std::function<void(beast::error_code, int)> on_signal;
  if (options.handle_signals) {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    on_signal = [&](beast::error_code ec, int) {
      if (ec) return;
      if (run.stopping()) {
        run.Abort("interrupted");
        return;
      }
      run.Stop();
      signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);
  }
  int active = options.connections;
  for (int i = 0; i < options.connections; ++i) {
    asio::co_spawn(ioc, RunConnection(run), [&](std::exception_ptr e) {
      if (e) run.Abort("internal error: " + DescribeException(e));
      if (--active == 0) {
        beast::error_code ignored;
        signals.cancel(ignored);
      }
    });
  }
  ioc.run();
  run.Finish();
  return std::move(run.report());
}

Result<SetupReport> RunSetup(const HttpEndpoint& endpoint, const std::string& token,
                             const ReferenceFiles& files) {
  asio::io_context ioc(1);
  Result<tcp::resolver::results_type> endpoints = Resolve(ioc, endpoint);
  if (!endpoints.ok()) return endpoints.status();
  SetupClient client(ioc.get_executor(), std::move(*endpoints), endpoint, token);
  SetupReport report;
  Status status = Status::Internal("setup did not finish");
  asio::co_spawn(ioc, SetupFlow(client, files, &report), [&](std::exception_ptr e, Status s) {
    status = e ? Status::Internal(DescribeException(e)) : std::move(s);
  });
  ioc.run();
  if (!status.ok()) return status;
  return report;
}

}  // namespace meterd::loadgen
