// A stand-in for meterd's HTTP contract, started inside a test on 127.0.0.1:0: it checks
// every NDJSON usage line it receives, remembers event identities to answer duplicates like
// the daemon, can throttle (429/503 with Retry-After), delay or close connections, and records
// the setup calls. One thread per connection; the recorded state is guarded by a mutex
// (test code, not a hot path).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace meterd::loadgen::testing {

struct FakeDaemonOptions {
  std::string token = "test-token";
  int throttle_every = 0;          // every n-th POST /v1/usage is refused; 0 = never
  unsigned throttle_status = 429;  // 429 or 503, with "Retry-After: 0"
  int delay_ms = 0;                // before answering POST /v1/usage
  bool close_after_each = false;   // answer with "Connection: close"
};

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string content_type;
  std::string body;
};

struct FakeDaemonState {
  uint64_t usage_requests = 0;
  uint64_t usage_lines = 0;
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t bad_lines = 0;
  uint64_t throttled = 0;
  uint64_t retried_with_same_body = 0;
  uint64_t unauthorized = 0;
  uint64_t connections = 0;
  std::vector<std::string> problems;            // why lines were bad
  std::vector<RecordedRequest> other_requests;  // everything but POST /v1/usage
};

class FakeDaemon {
 public:
  explicit FakeDaemon(FakeDaemonOptions options = {});
  ~FakeDaemon();
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  uint16_t port() const { return port_; }
  FakeDaemonState state() const;

 private:
  void AcceptLoop();
  void Serve(boost::asio::ip::tcp::socket socket);
  std::string AnswerUsage(const std::string& body);

  FakeDaemonOptions options_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::vector<std::thread> connection_threads_;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> sockets_;
  std::set<std::string> seen_events_;
  FakeDaemonState state_;
};

}  // namespace meterd::loadgen::testing
