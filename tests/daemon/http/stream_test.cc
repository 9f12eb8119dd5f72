// Streamed responses (Responder::StartStream / StreamWriter) through a real server on
// 127.0.0.1: chunked encoding that a client decodes to exactly what was written, keep-alive after
// the stream, HEAD and HTTP/1.0, backpressure (the next piece is asked for only once the
// previous one reached the socket, so a client that does not read stalls the producer), a write
// deadline per piece rather than per response, and what a client sees when the producer aborts
// after the headers (a truncated transfer, never a complete-looking body).
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/http/responder.h"
#include "daemon/http/server.h"
#include "daemon/http/stream_writer.h"
#include "tests/daemon/http/http_test_client.h"

namespace meterd::http {
namespace {

using namespace std::chrono_literals;
using testing::ClientResponse;
using testing::IsClosedByPeer;
using testing::TestConnection;
namespace bhttp = boost::beast::http;
namespace beast = boost::beast;

std::string Piece(int i, size_t size) { return std::string(size, static_cast<char>('a' + i % 26)); }

std::string Expected(int pieces, size_t size) {
  std::string all;
  for (int i = 0; i < pieces; ++i) all += Piece(i, size);
  return all;
}

// What the producers saw, for the test thread to wait on.
struct Probe {
  std::mutex mu;
  std::condition_variable cv;
  int drained = 0;             // pieces written to the socket
  std::vector<Status> errors;  // Write callbacks that failed

  void Drained() {
    std::lock_guard<std::mutex> lock(mu);
    ++drained;
    cv.notify_all();
  }
  void Failed(Status st) {
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back(std::move(st));
    cv.notify_all();
  }
  int DrainedNow() {
    std::lock_guard<std::mutex> lock(mu);
    return drained;
  }
  bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, done);
  }
};

enum class Ending { kFinish, kAbort, kDrop };

// Writes `pieces` pieces of `size` bytes, each only after the previous one drained, then ends
// the body as told. Owned by its pending Write callback (as the export routes are).
struct Producer : std::enable_shared_from_this<Producer> {
  StreamWriter writer;
  int pieces = 0;
  size_t size = 0;
  int next = 0;
  Ending ending = Ending::kFinish;
  std::chrono::milliseconds pause{0};
  Probe* probe = nullptr;

  void Next() {
    if (next == pieces) {
      if (ending == Ending::kFinish) writer.Finish();
      if (ending == Ending::kAbort) writer.Abort();
      return;  // kDrop: the last reference goes with this callback, the writer unfinished
    }
    writer.Write(Piece(next++, size), [self = shared_from_this()](Status st, std::string buffer) {
      if (!st.ok()) {
        self->probe->Failed(std::move(st));
        return;
      }
      EXPECT_TRUE(buffer.empty());  // handed back cleared, for reuse
      self->probe->Drained();
      if (self->pause.count() > 0) std::this_thread::sleep_for(self->pause);
      self->Next();
    });
  }
};

class StreamTest : public ::testing::Test {
 protected:
  static config::ServerConfig TestConfig() {
    config::ServerConfig c;
    c.listen_host = "127.0.0.1";
    c.listen_port = 0;
    c.io_threads = 2;
    c.header_timeout = 3s;
    c.body_timeout = 3s;
    c.write_timeout = 3s;
    c.idle_timeout = 10s;
    return c;
  }

  // GET /stream/{pieces}/{size}[?end=abort|drop&pause_ms=N]
  void Start(config::ServerConfig cfg = TestConfig()) {
    Router r;
    ASSERT_TRUE(r.Add(Verb::get, "/stream/{pieces}/{size}", [this](Request& req, Responder res) {
                   auto p = std::make_shared<Producer>();
                   p->pieces = std::stoi(std::string(req.path_param("pieces")));
                   p->size = std::stoul(std::string(req.path_param("size")));
                   const std::string end(req.query().Get("end").value_or("finish"));
                   p->ending = end == "abort"  ? Ending::kAbort
                               : end == "drop" ? Ending::kDrop
                                               : Ending::kFinish;
                   p->pause = std::chrono::milliseconds(
                       std::stoi(std::string(req.query().Get("pause_ms").value_or("0"))));
                   p->probe = &probe_;
                   p->writer = res.StartStream(
                       Response::Text(200, "text/csv", {}).WithHeader("X-Stream", "yes"));
                   if (!p->writer.wants_body()) {
                     head_only_ = true;
                     p->writer.Finish();
                     return;
                   }
                   p->Next();
                 }).ok());
    ASSERT_TRUE(r.Add(Verb::get, "/hello", [](Request&, Responder res) {
                   res.Send(Response::Json(200, R"({"hello":"world"})"));
                 }).ok());
    server_ = std::make_unique<Server>(std::move(cfg), std::move(r), &registry_);
    const Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(0ms);
    server_.reset();
  }

  uint16_t port() const { return server_->port(); }

  prometheus::Registry registry_;
  std::unique_ptr<Server> server_;
  Probe probe_;
  std::atomic<bool> head_only_{false};
};

TEST_F(StreamTest, SendsThePiecesChunkedAndKeepsTheConnectionAlive) {
  Start();
  TestConnection c(port());
  ClientResponse r = c.Request(bhttp::verb::get, "/stream/5/1000");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_TRUE(r.chunked());
  EXPECT_TRUE(r[bhttp::field::content_length].empty());
  EXPECT_EQ(r[bhttp::field::content_type], "text/csv");
  EXPECT_EQ(r["X-Stream"], "yes");
  EXPECT_TRUE(r.keep_alive());
  EXPECT_EQ(r.body(), Expected(5, 1000));
  // The same connection serves the next request, and another stream after it.
  EXPECT_EQ(c.Request(bhttp::verb::get, "/hello").body(), R"({"hello":"world"})");
  EXPECT_EQ(c.Request(bhttp::verb::get, "/stream/3/7").body(), Expected(3, 7));
  EXPECT_EQ(server_->active_connections(), 1u);
}

TEST_F(StreamTest, AnEmptyStreamIsAnEmptyBodyAndAPipelinedRequestWaitsForTheStream) {
  Start();
  TestConnection c(port());
  c.SendRaw(
      "GET /stream/0/0 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /stream/4/3 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ClientResponse empty = c.Read();
  EXPECT_EQ(empty.result_int(), 200);
  EXPECT_EQ(empty.body(), "");
  EXPECT_EQ(c.Read().body(), Expected(4, 3));
  EXPECT_EQ(c.Read().body(), R"({"hello":"world"})");
}

TEST_F(StreamTest, APipelinedAnswerReadyMidStreamWaitsForTheStreamToEnd) {
  Start();
  TestConnection c(port());
  // The stream pauses between pieces, so /hello is answered (and queued) while the stream's
  // head is out and its producer is still busy: it must neither restart nor interleave.
  c.SendRaw(
      "GET /stream/4/1000?pause_ms=100 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /stream/2/5 HTTP/1.1\r\nHost: x\r\n\r\n");
  ClientResponse first = c.Read();
  EXPECT_EQ(first.body(), Expected(4, 1000));
  EXPECT_EQ(c.Read().body(), R"({"hello":"world"})");
  EXPECT_EQ(c.Read().body(), Expected(2, 5));
}

TEST_F(StreamTest, AnswersHeadWithTheHeadersAloneAndAsksNoBodyOfTheProducer) {
  Start();
  TestConnection c(port());
  ClientResponse r = c.Request(bhttp::verb::head, "/stream/5/1000");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r["X-Stream"], "yes");
  EXPECT_TRUE(head_only_.load());
  EXPECT_EQ(c.Request(bhttp::verb::get, "/hello").result_int(), 200);  // nothing left over
}

TEST_F(StreamTest, SendsAnHttp10BodyUnchunkedAndEndsItByClosing) {
  Start();
  TestConnection c(port());
  c.SendRaw("GET /stream/3/100 HTTP/1.0\r\n\r\n");
  std::string raw;
  const auto ec = c.ReadUntilClosed(&raw);
  EXPECT_TRUE(IsClosedByPeer(ec)) << ec.message();
  const size_t body_at = raw.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos) << raw;
  const std::string head = raw.substr(0, body_at);
  EXPECT_EQ(head.rfind("HTTP/1.0 200", 0), 0u) << head;
  EXPECT_EQ(head.find("chunked"), std::string::npos) << head;
  EXPECT_EQ(raw.substr(body_at + 4), Expected(3, 100));
}

TEST_F(StreamTest, AsksForTheNextPieceOnlyOnceTheClientHasReadThePreviousOnes) {
  Start();
  TestConnection c(port());
  // A small receive buffer, so what the kernel absorbs is the server's send buffer (at most
  // tcp_wmem's maximum, 4 MiB by default) plus a little.
  c.socket().set_option(boost::asio::socket_base::receive_buffer_size(64 * 1024));
  // 48 MiB in 1 MiB pieces against a client that reads nothing for a while: only what the
  // socket buffers absorb can drain; the producer waits for the rest.
  constexpr int kPieces = 48;
  constexpr size_t kSize = size_t{1} << 20;
  c.Send(bhttp::verb::get, "/stream/" + std::to_string(kPieces) + "/" + std::to_string(kSize));
  std::this_thread::sleep_for(500ms);
  const int stalled = probe_.DrainedNow();
  EXPECT_LT(stalled, 16) << "pieces kept draining with nobody reading";
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(probe_.DrainedNow(), stalled) << "the producer ran ahead of the socket";

  ClientResponse r = c.Read();
  EXPECT_EQ(r.body().size(), kPieces * kSize);
  EXPECT_EQ(r.body().substr(r.body().size() - kSize), Piece(kPieces - 1, kSize));
  EXPECT_TRUE(probe_.WaitUntil([&] { return probe_.drained == kPieces; }, 5s));
  EXPECT_TRUE(probe_.errors.empty());
}

TEST_F(StreamTest, TheWriteDeadlineBoundsEachPieceNotTheWholeResponse) {
  config::ServerConfig cfg = TestConfig();
  cfg.write_timeout = 300ms;
  Start(cfg);
  TestConnection c(port());
  // Eight pieces 100 ms apart: 0.8 s in all, well past one write deadline.
  ClientResponse r = c.Request(bhttp::verb::get, "/stream/8/10?pause_ms=100");
  EXPECT_EQ(r.body(), Expected(8, 10));
  EXPECT_TRUE(probe_.errors.empty());
}

TEST_F(StreamTest, FailsTheProducerAndClosesWhenTheClientStopsReadingPastTheDeadline) {
  config::ServerConfig cfg = TestConfig();
  cfg.write_timeout = 300ms;
  Start(cfg);
  TestConnection c(port(), 10s);
  c.Send(bhttp::verb::get, "/stream/1000/1048576");
  ASSERT_TRUE(probe_.WaitUntil([&] { return !probe_.errors.empty(); }, 10s))
      << "no error reached the producer; drained " << probe_.DrainedNow();
  EXPECT_EQ(probe_.errors.front().code(), StatusCode::kUnavailable);
  EXPECT_LT(probe_.DrainedNow(), 1000);
  // What the client gets is cut short: the connection ends before the last chunk.
  beast::error_code ec;
  c.Read(ec);
  EXPECT_TRUE(ec) << "a truncated stream read as complete";
}

TEST_F(StreamTest, FailsTheProducerWhenTheClientGoesAway) {
  Start();
  {
    TestConnection c(port());
    c.Send(bhttp::verb::get, "/stream/100000/65536?pause_ms=1");
    ASSERT_TRUE(probe_.WaitUntil([&] { return probe_.drained > 0; }, 5s));
  }  // the client closes its socket with the response unread
  ASSERT_TRUE(probe_.WaitUntil([&] { return !probe_.errors.empty(); }, 10s))
      << "the producer kept writing to a closed connection; drained " << probe_.DrainedNow();
  EXPECT_LT(probe_.DrainedNow(), 100000);
}

TEST_F(StreamTest, AnAbortAfterTheHeadersTruncatesTheBodyAndClosesTheConnection) {
  for (const char* ending : {"abort", "drop"}) {
    SCOPED_TRACE(ending);
    if (server_ == nullptr) Start();
    TestConnection c(port());
    c.Send(bhttp::verb::get, std::string("/stream/3/100?end=") + ending);
    beast::error_code ec;
    c.Read(ec);
    EXPECT_TRUE(ec == bhttp::error::partial_message || IsClosedByPeer(ec)) << ec.message();
    std::string rest;
    EXPECT_TRUE(IsClosedByPeer(c.ReadUntilClosed(&rest)) || !rest.empty());
  }
  EXPECT_TRUE(probe_.errors.empty());  // the producer ended it; nobody failed it
}

}  // namespace
}  // namespace meterd::http
