// Internal to the HTTP server: one accepted TCP connection, driven on its own strand. It reads
// one request at a time, hands it to the routed handler, queues responses in order (at most
// max_pipelined waiting to be written) and only reads the next request once the previous
// response is queued. Every wait has a deadline (idle, header, body, write), so a slow or
// silent peer costs one socket and a timer, never a thread. A streamed response (StreamWriter)
// holds the front of the queue until its producer finishes it; each of its pieces is written
// with its own write deadline. All members run on the strand except Deliver, DeliverStream,
// Stream{Write,Finish,Abort}, BeginDrain and ForceClose, which post to it and are safe from
// any thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "daemon/config/config.h"
#include "daemon/http/body.h"
#include "daemon/http/http_metrics.h"
#include "daemon/http/response.h"
#include "daemon/http/router.h"
#include "daemon/http/stream_writer.h"

namespace meterd::http {

class Connection;

// What every connection of one server shares. Outlives all connections (the server joins its
// I/O threads and destroys the io_context before this).
struct ServerContext {
  config::ServerConfig config;
  const Router* router = nullptr;
  HttpMetrics* metrics = nullptr;  // may be null (no registry given)
  std::string server_header;

  // Live connections, for graceful shutdown. Touched on connect and close only.
  std::mutex mu;
  std::condition_variable all_closed;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> live;  // guarded by mu
  bool draining = false;                                            // guarded by mu

  size_t LiveCount() {
    std::lock_guard<std::mutex> lock(mu);
    return live.size();
  }
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, ServerContext& ctx);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Registers with the context and starts reading. REQUIRES: owned by a shared_ptr.
  void Start();
  // The response to request `sequence`; any thread. `unanswered`: the handler dropped its
  // Responder and `response` is the 500 standing in for its answer.
  void Deliver(uint64_t sequence, Response response, bool unanswered = false);
  // The status and headers (`head`, body ignored) of request `sequence`, whose body comes
  // through `channel`. Any thread.
  void DeliverStream(uint64_t sequence, Response head,
                     std::shared_ptr<internal::StreamChannel> channel);
  // StreamWriter's calls; any thread (see stream_writer.h).
  void StreamWrite(std::shared_ptr<internal::StreamChannel> channel, std::string piece,
                   StreamWriter::OnDrained on_drained);
  void StreamFinish(std::shared_ptr<internal::StreamChannel> channel);
  void StreamAbort(std::shared_ptr<internal::StreamChannel> channel);
  // Finish what is in flight, then close; closes at once when idle. Any thread.
  void BeginDrain();
  // Close now, dropping whatever is in flight. Any thread.
  void ForceClose();

 private:
  struct Outgoing {
    Response response;
    size_t route = 0;
    bool head = false;       // HEAD: send headers only
    bool keep_alive = true;  // what the request asked for
    bool close = false;      // an error response: close after it regardless
    bool linger = false;     // the peer may still be sending (a refused request)
    unsigned version = 11;
    std::chrono::steady_clock::time_point started;
    // A streamed response: `response` holds status and headers only, the body comes from here.
    std::shared_ptr<internal::StreamChannel> stream;
  };

  void StartRead();
  void ReadIdle();
  void OnIdleRead(boost::beast::error_code ec, size_t n);
  void ReadHeader();
  void OnHeader(boost::beast::error_code ec);
  void ReadBody();
  void OnBody(boost::beast::error_code ec);
  void Dispatch();
  void OnDelivered(uint64_t sequence, Response response, bool unanswered,
                   std::shared_ptr<internal::StreamChannel> stream);
  void Enqueue(Outgoing out);
  void Reject(int status, std::string_view detail, RequestError reason);
  void MaybeRead();
  void WriteNext();
  void OnWrite(boost::beast::error_code ec);
  // The front response is written (or failed with ec): metrics, then the next one or close.
  void CompleteFront(boost::beast::error_code ec);
  template <class Message>
  void SetHeaders(Message& msg, const Outgoing& o);
  // Streamed responses: the head, then pieces as the producer hands them over, then the end.
  void WriteStreamHead(Outgoing& o);
  void OnStreamHead(boost::beast::error_code ec);
  void PumpStream();
  void OnStreamPiece(boost::beast::error_code ec);
  void OnStreamWrite(const std::shared_ptr<internal::StreamChannel>& channel, std::string piece,
                     StreamWriter::OnDrained on_drained);
  void OnStreamFinish(const std::shared_ptr<internal::StreamChannel>& channel);
  void OnStreamAbort(const std::shared_ptr<internal::StreamChannel>& channel);
  // Ends a stream that will not complete: its outstanding Write (if any) is answered with
  // `status` from a posted task (never from inside the caller).
  void FailStream(internal::StreamChannel& channel, const Status& status);
  void MaybeFinish();
  void UpdateIdleTimer();
  void OnReadError(boost::beast::error_code ec, RequestError timeout_reason);
  void LingerThenClose();
  void LingerRead();
  void ArmTimer(std::chrono::milliseconds after, RequestError reason);
  void CancelTimer();
  void CloseNow();
  void DoDrain();
  size_t BodyLimitFor(const Route* route) const;

  ServerContext& ctx_;
  boost::beast::tcp_stream stream_;
  boost::asio::steady_timer timer_;  // idle keep-alive deadline, then the linger deadline
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<PaddedBody>> parser_;
  boost::beast::http::response<boost::beast::http::string_body> out_;
  // The front streamed response: its message (body = the piece being written) and the
  // serializer that carries the chunked encoding across pieces; engaged once its head is sent.
  boost::beast::http::response<boost::beast::http::buffer_body> stream_out_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::buffer_body>>
      stream_sr_;
  std::deque<Outgoing> queue_;  // ready responses, oldest first; front is being written

  // The request being read or handled.
  RouteMatch match_;
  std::chrono::steady_clock::time_point started_;
  bool head_ = false;
  bool keep_alive_ = true;

  // While a handler owns a request no I/O is outstanding, so nothing else keeps the connection
  // alive; released when the answer arrives or the connection is closed (Responders hold
  // only weak references, so a force-closed connection still goes away).
  std::shared_ptr<Connection> self_while_handling_;
  uint64_t sequence_ = 0;  // of the request in the handler
  size_t route_ = 0;       // metrics index of the request in the handler
  unsigned version_ = 11;  // HTTP version of the request in the handler
  uint64_t timer_generation_ = 0;
  bool reading_ = false;           // a read is outstanding
  bool idle_wait_ = false;         // ...and it waits for the first byte of a request
  bool idle_timer_armed_ = false;  // timer_ runs the keep-alive idle deadline
  bool in_handler_ = false;        // a request was dispatched and is not answered yet
  bool writing_ = false;
  bool stop_reading_ = false;  // no further requests on this connection
  bool draining_ = false;
  bool closed_ = false;
  bool lingering_ = false;
  size_t linger_bytes_ = 0;
};

}  // namespace meterd::http
