// The HTTP server end to end: a real server on 127.0.0.1 port 0, real TCP, a Beast client.

#include "daemon/http/server.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "daemon/http/problem.h"
#include "daemon/http/responder.h"
#include "tests/daemon/http/http_test_client.h"

namespace meterd::http {
namespace {

using namespace std::chrono_literals;
using testing::ClientResponse;
using testing::IsClosedByPeer;
using testing::TestConnection;
namespace bhttp = boost::beast::http;

// Parses a problem+json body and returns its "status" member (-1 when it is not one).
int64_t ProblemStatus(const ClientResponse& r) {
  if (r[bhttp::field::content_type] != "application/problem+json") return -1;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(r.body()).get(doc)) return -1;
  int64_t status = -1;
  std::string_view title, type, detail;
  if (doc["status"].get(status) || doc["title"].get(title) || doc["type"].get(type) ||
      doc["detail"].get(detail)) {
    return -1;
  }
  return status;
}

class ServerTest : public ::testing::Test {
 protected:
  static config::ServerConfig TestConfig() {
    config::ServerConfig c;
    c.listen_host = "127.0.0.1";
    c.listen_port = 0;
    c.io_threads = 2;
    c.max_header_bytes = 2048;
    c.max_body_bytes = 1024;
    c.max_bulk_body_bytes = 64 * 1024;
    c.header_timeout = 3s;
    c.body_timeout = 3s;
    c.write_timeout = 3s;
    c.idle_timeout = 10s;
    return c;
  }

  // A router with the routes most tests use.
  Router BaseRouter() {
    Router r;
    EXPECT_TRUE(r.Add(Verb::get, "/hello", [](Request&, Responder res) {
                   res.Send(Response::Json(200, R"({"hello":"world"})"));
                 }).ok());
    EXPECT_TRUE(r.Add(Verb::post, "/echo", [](Request& req, Responder res) {
                   res.Send(Response::Text(200, "text/plain", req.body()));
                 }).ok());
    EXPECT_TRUE(r.Add(Verb::post, "/bulk",
                      [](Request& req, Responder res) {
                        // Proves the padding contract of request bodies.
                        const std::string& b = req.body();
                        const bool padded = b.capacity() >= b.size() + kBodyPadding;
                        res.Send(Response::Text(
                            200, "text/plain",
                            std::to_string(b.size()) + (padded ? " padded" : " unpadded")));
                      },
                      {.body_limit = BodyLimit::kBulk})
                    .ok());
    EXPECT_TRUE(r.Add(Verb::get, "/slow/{ms}", [this](Request& req, Responder res) {
                   const int ms = std::stoi(std::string(req.path_param("ms")));
                   AnswerLater(std::move(res), std::chrono::milliseconds(ms),
                               Response::Text(200, "text/plain",
                                              "slow " + std::string(req.path_param("ms"))));
                 }).ok());
    EXPECT_TRUE(
        r.Add(Verb::get, "/fast/{n}", [](Request& req, Responder res) {
           res.Send(Response::Text(200, "text/plain", "fast " + std::string(req.path_param("n"))));
         }).ok());
    return r;
  }

  void Start(Router router, config::ServerConfig cfg = TestConfig()) {
    server_ = std::make_unique<Server>(std::move(cfg), std::move(router), &registry_);
    const Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_NE(server_->port(), 0);
  }

  // Answers from a thread of our own, as ingest does after its commit.
  void AnswerLater(Responder res, std::chrono::milliseconds delay, Response response) {
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([res = std::move(res), delay, response = std::move(response)]() mutable {
      std::this_thread::sleep_for(delay);
      res.Send(std::move(response));
    });
  }

  void JoinWorkers() {
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
  }

  void TearDown() override {
    JoinWorkers();
    if (server_ != nullptr) server_->Shutdown(0ms);
    JoinWorkers();
    server_.reset();
  }

  std::string MetricsText() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

  // Requests are counted when their response write completes, which may be just after the
  // client has read the response: wait for the sample instead of racing it.
  bool MetricsEventuallyContain(std::string_view sample) {
    for (int i = 0; i < 200; ++i) {
      if (MetricsText().find(sample) != std::string::npos) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  uint16_t port() const { return server_->port(); }

  prometheus::Registry registry_;
  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

TEST_F(ServerTest, ServesSeveralRequestsOnOneKeptAliveConnection) {
  Start(BaseRouter());
  TestConnection c(port());
  for (int i = 0; i < 3; ++i) {
    ClientResponse r = c.Request(bhttp::verb::get, "/hello");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), R"({"hello":"world"})");
    EXPECT_EQ(r[bhttp::field::content_type], "application/json");
    EXPECT_TRUE(r.keep_alive());
    EXPECT_FALSE(r[bhttp::field::date].empty());
  }
  EXPECT_EQ(server_->active_connections(), 1u);
}

TEST_F(ServerTest, AnswersPipelinedRequestsInRequestOrder) {
  Start(BaseRouter());
  TestConnection c(port());
  // The first request is answered late from another thread; the later ones must still come
  // after it, in order.
  c.SendRaw(
      "GET /slow/150 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /fast/1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /fast/2 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.Read().body(), "slow 150");
  EXPECT_EQ(c.Read().body(), "fast 1");
  EXPECT_EQ(c.Read().body(), "fast 2");
}

TEST_F(ServerTest, KeepsAnsweringPipelinedRequestsWhenTheQueueLimitIsOne) {
  config::ServerConfig cfg = TestConfig();
  cfg.max_pipelined = 1;
  Start(BaseRouter(), cfg);
  TestConnection c(port());
  std::string burst;
  for (int i = 0; i < 20; ++i)
    burst += "GET /fast/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  c.SendRaw(burst);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.Read().body(), "fast " + std::to_string(i));
}

TEST_F(ServerTest, AnswersAnUnknownPathWith404ProblemJson) {
  Start(BaseRouter());
  TestConnection c(port());
  ClientResponse r = c.Request(bhttp::verb::get, "/nope");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_EQ(ProblemStatus(r), 404);
  EXPECT_TRUE(r.keep_alive());  // an ordinary answer, not a reason to drop the connection
  EXPECT_EQ(c.Request(bhttp::verb::get, "/hello").result_int(), 200);
}

TEST_F(ServerTest, AnswersAWrongMethodWith405AndAllow) {
  Start(BaseRouter());
  TestConnection c(port());
  ClientResponse r = c.Request(bhttp::verb::delete_, "/hello");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(ProblemStatus(r), 405);
  EXPECT_EQ(r[bhttp::field::allow], "GET, HEAD");
}

TEST_F(ServerTest, AnswersHeadWithTheGetHeadersAndNoBody) {
  Start(BaseRouter());
  TestConnection c(port());
  ClientResponse r = c.Request(bhttp::verb::head, "/hello");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[bhttp::field::content_length], "17");
  EXPECT_TRUE(r.body().empty());
  EXPECT_EQ(c.Request(bhttp::verb::get, "/hello").body(), R"({"hello":"world"})");
}

TEST_F(ServerTest, RefusesADeclaredBodyOverTheRouteLimitWith413BeforeReadingIt) {
  Start(BaseRouter());
  TestConnection c(port());
  // Only the headers are sent: the server must answer from the Content-Length alone.
  c.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n");
  ClientResponse r = c.Read();
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_EQ(ProblemStatus(r), 413);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(IsClosedByPeer(c.ReadUntilClosed()));
}

TEST_F(ServerTest, RefusesAChunkedBodyOverTheRouteLimitWith413) {
  Start(BaseRouter());
  TestConnection c(port());
  const std::string chunk(800, 'a');
  c.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  c.SendRaw("320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
  ClientResponse r = c.Read();
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_EQ(ProblemStatus(r), 413);
}

TEST_F(ServerTest, AcceptsABodyAtTheLimitAndBulkRoutesTakeMore) {
  Start(BaseRouter());
  TestConnection c(port());
  EXPECT_EQ(c.Request(bhttp::verb::post, "/echo", std::string(1024, 'x')).body(),
            std::string(1024, 'x'));
  ClientResponse bulk = c.Request(bhttp::verb::post, "/bulk", std::string(50'000, 'y'));
  EXPECT_EQ(bulk.result_int(), 200);
  EXPECT_EQ(bulk.body(), "50000 padded");
}

TEST_F(ServerTest, PadsChunkedAndEmptyBodiesToo) {
  Start(BaseRouter());
  TestConnection c(port());
  c.SendRaw(
      "POST /bulk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(c.Read().body(), "8 padded");
  c.SendRaw("POST /bulk HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(c.Read().body(), "0 padded");
}

TEST_F(ServerTest, RefusesOversizedHeadersWith431) {
  Start(BaseRouter());
  TestConnection c(port());
  c.SendRaw("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'b') + "\r\n\r\n");
  ClientResponse r = c.Read();
  EXPECT_EQ(r.result_int(), 431);
  EXPECT_EQ(ProblemStatus(r), 431);
  EXPECT_FALSE(r.keep_alive());
}

TEST_F(ServerTest, AnswersGarbageWith400ProblemJson) {
  Start(BaseRouter());
  TestConnection c(port());
  c.SendRaw("THIS IS NOT HTTP\r\n\r\n");
  ClientResponse r = c.Read();
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_EQ(ProblemStatus(r), 400);
}

TEST_F(ServerTest, ClosesASlowlorisConnectionAtTheHeaderDeadline) {
  config::ServerConfig cfg = TestConfig();
  cfg.header_timeout = 300ms;
  Start(BaseRouter(), cfg);
  TestConnection c(port());
  const auto start = std::chrono::steady_clock::now();
  // One header byte every 50 ms: always "making progress", never finishing.
  const std::string partial = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  c.SendRaw(partial);
  boost::beast::error_code ec;
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(50ms);
    boost::asio::write(c.socket(), boost::asio::buffer("a", 1), ec);
    if (ec) break;
  }
  if (!ec) ec = c.ReadUntilClosed();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(ec) << "the server kept a trickling connection open";
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_TRUE(
      MetricsEventuallyContain(R"(meterd_http_request_errors_total{reason="header_timeout"} 1)"));
}

TEST_F(ServerTest, ClosesAConnectionWhoseBodyArrivesTooSlowly) {
  config::ServerConfig cfg = TestConfig();
  cfg.body_timeout = 300ms;
  Start(BaseRouter(), cfg);
  TestConnection c(port());
  const auto start = std::chrono::steady_clock::now();
  c.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc");
  const auto ec = c.ReadUntilClosed();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(IsClosedByPeer(ec)) << ec.message();
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 1500ms);
}

TEST_F(ServerTest, ClosesAnIdleKeepAliveConnectionAfterTheIdleTimeout) {
  config::ServerConfig cfg = TestConfig();
  cfg.idle_timeout = 300ms;
  Start(BaseRouter(), cfg);
  TestConnection c(port());
  EXPECT_EQ(c.Request(bhttp::verb::get, "/hello").result_int(), 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(IsClosedByPeer(c.ReadUntilClosed()));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
}

TEST_F(ServerTest, DoesNotCloseAConnectionWhoseHandlerIsSlowerThanTheIdleTimeout) {
  config::ServerConfig cfg = TestConfig();
  cfg.idle_timeout = 100ms;
  Start(BaseRouter(), cfg);
  TestConnection c(port());
  ClientResponse r = c.Request(bhttp::verb::get, "/slow/400");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "slow 400");
}

TEST_F(ServerTest, RefusesConnectionsBeyondTheLimitWith503) {
  config::ServerConfig cfg = TestConfig();
  cfg.max_connections = 2;
  Start(BaseRouter(), cfg);
  TestConnection a(port());
  TestConnection b(port());
  ASSERT_EQ(a.Request(bhttp::verb::get, "/hello").result_int(), 200);
  ASSERT_EQ(b.Request(bhttp::verb::get, "/hello").result_int(), 200);
  TestConnection third(port());
  ClientResponse r = third.Read();
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(ProblemStatus(r), 503);
  EXPECT_EQ(r[bhttp::field::retry_after], "1");
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(IsClosedByPeer(third.ReadUntilClosed()));
  // The admitted connections are unaffected.
  EXPECT_EQ(a.Request(bhttp::verb::get, "/hello").result_int(), 200);
  EXPECT_TRUE(MetricsEventuallyContain("meterd_http_connections_rejected_total 1"));
}

TEST_F(ServerTest, AcceptsANewConnectionOnceAnotherHasClosed) {
  config::ServerConfig cfg = TestConfig();
  cfg.max_connections = 1;
  Start(BaseRouter(), cfg);
  {
    TestConnection a(port());
    ASSERT_EQ(a.Request(bhttp::verb::get, "/hello").result_int(), 200);
  }
  for (int i = 0; i < 100 && server_->active_connections() != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  TestConnection b(port());
  EXPECT_EQ(b.Request(bhttp::verb::get, "/hello").result_int(), 200);
}

TEST_F(ServerTest, DeliversAnAnswerSentLaterFromAnotherThread) {
  Start(BaseRouter());
  TestConnection c(port());
  ClientResponse r = c.Request(bhttp::verb::get, "/slow/100");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "slow 100");
  // and the connection is still usable afterwards
  EXPECT_EQ(c.Request(bhttp::verb::get, "/fast/7").body(), "fast 7");
}

TEST_F(ServerTest, TurnsAThrowingHandlerInto500ProblemJson) {
  Router r = BaseRouter();
  ASSERT_TRUE(r.Add(Verb::get, "/throw", [](Request&, Responder) {
                 throw std::runtime_error("boom");
               }).ok());
  Start(std::move(r));
  TestConnection c(port());
  ClientResponse res = c.Request(bhttp::verb::get, "/throw");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(ProblemStatus(res), 500);
  EXPECT_EQ(res.body().find("boom"), std::string::npos) << "internals must not leak";
  EXPECT_EQ(c.Request(bhttp::verb::get, "/hello").result_int(), 200);
  EXPECT_TRUE(MetricsEventuallyContain(
      R"(meterd_http_request_errors_total{reason="handler_exception"} 1)"));
}

TEST_F(ServerTest, AnswersWith500WhenAHandlerDropsItsResponder) {
  Router r = BaseRouter();
  ASSERT_TRUE(r.Add(Verb::get, "/forget", [](Request&, Responder) {}).ok());
  Start(std::move(r));
  TestConnection c(port());
  ClientResponse res = c.Request(bhttp::verb::get, "/forget");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(ProblemStatus(res), 500);
}

TEST_F(ServerTest, IgnoresASecondSendOnTheSameResponder) {
  Router r = BaseRouter();
  ASSERT_TRUE(r.Add(Verb::get, "/twice", [](Request&, Responder res) {
                 res.Send(Response::Text(200, "text/plain", "first"));
                 res.Send(Response::Text(500, "text/plain", "second"));
               }).ok());
  Start(std::move(r));
  TestConnection c(port());
  EXPECT_EQ(c.Request(bhttp::verb::get, "/twice").body(), "first");
  EXPECT_EQ(c.Request(bhttp::verb::get, "/hello").result_int(), 200);
}

// While a handler owns a request the server reads nothing from that connection (the next
// request is read only once the answer is queued), so a client that hung up is noticed when
// the answer is written: the late Send() is harmless and the connection then goes away.
TEST_F(ServerTest, ReleasesTheConnectionWhenAnAnswerComesAfterTheClientLeft) {
  std::promise<Responder> parked;
  Router r = BaseRouter();
  ASSERT_TRUE(r.Add(Verb::get, "/park", [&parked](Request&, Responder res) {
                 parked.set_value(std::move(res));
               }).ok());
  Start(std::move(r));
  Responder late;
  {
    TestConnection c(port());
    c.Send(bhttp::verb::get, "/park");
    late = parked.get_future().get();
    ASSERT_TRUE(late.pending());
    EXPECT_EQ(late.request()->path(), "/park");
  }  // the client hangs up before the answer
  late.Send(Response::Text(200, "text/plain", "too late"));
  EXPECT_FALSE(late.pending());
  for (int i = 0; i < 300 && server_->active_connections() != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server_->active_connections(), 0u);
  TestConnection c(port());
  EXPECT_EQ(c.Request(bhttp::verb::get, "/hello").result_int(), 200);
}

TEST_F(ServerTest, MakesASendAfterAForcedCloseANoOp) {
  std::promise<Responder> parked;
  Router r = BaseRouter();
  ASSERT_TRUE(r.Add(Verb::get, "/park", [&parked](Request&, Responder res) {
                 parked.set_value(std::move(res));
               }).ok());
  Start(std::move(r));
  TestConnection c(port());
  c.Send(bhttp::verb::get, "/park");
  Responder held = parked.get_future().get();
  EXPECT_FALSE(server_->Shutdown(50ms));  // closes the connection under the handler
  EXPECT_EQ(server_->active_connections(), 0u);
  held.Send(Response::Text(200, "text/plain", "nobody listens"));
  EXPECT_FALSE(held.pending());
}

TEST_F(ServerTest, DecodesPathParametersAndQueryStrings) {
  Router r;
  ASSERT_TRUE(r.Add(Verb::put, "/v1/grants/{id}", [](Request& req, Responder res) {
                 std::string out = std::string(req.path_param("id")) + "|" +
                                   std::string(req.query().Get("note").value_or("-")) + "|" +
                                   std::string(req.query().Get("n").value_or("-")) + "|" +
                                   std::string(req.route_pattern());
                 res.Send(Response::Text(200, "text/plain", std::move(out)));
               }).ok());
  Start(std::move(r));
  TestConnection c(port());
  ClientResponse res =
      c.Request(bhttp::verb::put, "/v1/grants/aobo:Sub%2F1?note=a%20b+c&n=%E2%82%AC");
  EXPECT_EQ(res.body(), "aobo:Sub/1|a b c|\xE2\x82\xAC|/v1/grants/{id}");
  ClientResponse bad = c.Request(bhttp::verb::put, "/v1/grants/x?note=%zz");
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_EQ(ProblemStatus(bad), 400);
}

TEST_F(ServerTest, SendsContinueBeforeReadingABodyWhenAsked) {
  Start(BaseRouter());
  TestConnection c(port());
  c.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  std::string interim;
  char buf[64];
  boost::beast::error_code ec;
  while (interim.find("\r\n\r\n") == std::string::npos && !ec) {
    const size_t n = c.socket().read_some(boost::asio::buffer(buf), ec);
    interim.append(buf, n);
  }
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  c.SendRaw("hello");
  ClientResponse r = c.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "hello");
}

TEST_F(ServerTest, DropsResponseHeadersThatCouldSplitTheResponse) {
  Router r;
  ASSERT_TRUE(r.Add(Verb::get, "/export", [](Request&, Responder res) {
                 Response out = Response::Text(200, "text/csv", "a,b\n");
                 out.WithHeader("Content-Disposition", "attachment; filename=\"x\r\nX-Evil: 1\"");
                 out.WithHeader("X-Fine", "yes");
                 res.Send(std::move(out));
               }).ok());
  Start(std::move(r));
  TestConnection c(port());
  ClientResponse res = c.Request(bhttp::verb::get, "/export");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res["X-Fine"], "yes");
  EXPECT_EQ(res["X-Evil"], "");
  EXPECT_EQ(res[bhttp::field::content_disposition], "");
  EXPECT_EQ(res.body(), "a,b\n");
}

TEST_F(ServerTest, ClosesAfterAnsweringARequestThatAskedToClose) {
  Start(BaseRouter());
  TestConnection c(port());
  c.Send(bhttp::verb::get, "/hello", {}, "", /*keep_alive=*/false);
  ClientResponse r = c.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(IsClosedByPeer(c.ReadUntilClosed()));
}

TEST_F(ServerTest, GracefulShutdownFinishesInFlightRequests) {
  Start(BaseRouter());
  TestConnection busy(port());
  TestConnection idle(port());
  ASSERT_EQ(idle.Request(bhttp::verb::get, "/hello").result_int(), 200);
  busy.Send(bhttp::verb::get, "/slow/400");
  std::this_thread::sleep_for(50ms);  // the request is in its handler

  const auto start = std::chrono::steady_clock::now();
  auto done = std::async(std::launch::async, [this] { return server_->Shutdown(5s); });

  // The idle connection is closed at once; the busy one gets its answer, then is closed.
  EXPECT_TRUE(IsClosedByPeer(idle.ReadUntilClosed()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 300ms);
  ClientResponse r = busy.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "slow 400");
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(done.get()) << "shutdown should have been graceful";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

  // No longer accepting.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s(ioc);
  boost::beast::error_code ec;
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port()}, ec);
  EXPECT_TRUE(ec);
}

TEST_F(ServerTest, ShutdownClosesStragglersAtTheDeadline) {
  std::promise<Responder> parked;
  Router r = BaseRouter();
  ASSERT_TRUE(r.Add(Verb::get, "/never", [&parked](Request&, Responder res) {
                 parked.set_value(std::move(res));
               }).ok());
  Start(std::move(r));
  TestConnection c(port());
  c.Send(bhttp::verb::get, "/never");
  Responder held = parked.get_future().get();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(server_->Shutdown(200ms));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_TRUE(IsClosedByPeer(c.ReadUntilClosed()));
  held.Send(Response::NoContent());  // after shutdown: a no-op
}

TEST_F(ServerTest, WritesThePortFileAfterBinding) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("meterd_port_" + std::to_string(::getpid())))
          .string();
  config::ServerConfig cfg = TestConfig();
  cfg.port_file = path;
  Start(BaseRouter(), cfg);
  std::ifstream in(path);
  int written = 0;
  in >> written;
  EXPECT_EQ(written, port());
  EXPECT_EQ(server_->address(), "127.0.0.1:" + std::to_string(port()));
  std::filesystem::remove(path);
}

TEST_F(ServerTest, ReportsABusyPortAsAnError) {
  Start(BaseRouter());
  config::ServerConfig cfg = TestConfig();
  cfg.listen_port = port();
  Server second(cfg, BaseRouter(), nullptr);
  const Status st = second.Start();
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_NE(st.message().find("cannot listen on 127.0.0.1:" + std::to_string(port())),
            std::string::npos);
}

TEST_F(ServerTest, CountsRequestsByRoutePatternAndStatus) {
  Start(BaseRouter());
  TestConnection c(port());
  c.Request(bhttp::verb::get, "/fast/1");
  c.Request(bhttp::verb::get, "/fast/2");
  c.Request(bhttp::verb::get, "/missing/abc");
  EXPECT_TRUE(MetricsEventuallyContain(
      R"(meterd_http_requests_total{code="200",method="GET",route="/fast/{n}"} 2)"));
  EXPECT_TRUE(MetricsEventuallyContain(
      R"(meterd_http_requests_total{code="404",method="",route="unmatched"} 1)"));
  EXPECT_TRUE(MetricsEventuallyContain(
      R"(meterd_http_request_duration_seconds_count{code="200",method="GET",route="/fast/{n}"} 2)"));
  EXPECT_EQ(MetricsText().find("/fast/1"), std::string::npos)
      << "raw paths must never become labels";
}

TEST_F(ServerTest, ServesManyConcurrentClients) {
  config::ServerConfig cfg = TestConfig();
  cfg.io_threads = 4;
  Start(BaseRouter(), cfg);
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      TestConnection c(port());
      for (int i = 0; i < 50; ++i) {
        const std::string n = std::to_string(t * 1000 + i);
        ClientResponse r = c.Request(bhttp::verb::get, "/fast/" + n);
        if (r.result_int() == 200 && r.body() == "fast " + n) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 400);
}

}  // namespace
}  // namespace meterd::http
