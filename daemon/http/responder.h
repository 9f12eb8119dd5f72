// Responder: the one-shot handle through which a handler answers its request, now or later and
// from any thread (e.g. ingest answers after the storage writer's commit). Send() hands the
// response to the connection's strand; it is a no-op when the connection is already gone.
// A Responder dropped without Send() answers 500 problem+json, so no request hangs forever
// (this is also how a handler that throws gets its 500). Move-only; not for concurrent use.
#pragma once

#include <cstdint>
#include <memory>

#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/stream_writer.h"

namespace meterd::http {

class Connection;

namespace internal {
// One request in flight: the request, the connection to answer on and its position there.
struct Exchange {
  Request request;
  std::weak_ptr<Connection> connection;
  uint64_t sequence = 0;
};
}  // namespace internal

class Responder {
 public:
  Responder() = default;
  explicit Responder(std::shared_ptr<internal::Exchange> exchange)
      : exchange_(std::move(exchange)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  // Answers the request. The first call wins; later calls (and calls on a moved-from
  // Responder) do nothing. Thread-safe with respect to the connection.
  void Send(Response response);

  // Answers with `head`'s status, content type and headers now and a body written piece by
  // piece through the returned writer (stream_writer.h); head.body is ignored. Like Send, it
  // uses up the Responder. For a HEAD request the writer's wants_body() is false. Errors found
  // before calling this should be answered with Send (problem+json); after it, only
  // StreamWriter::Abort is left.
  StreamWriter StartStream(Response head);

  // Whether this Responder still owes an answer.
  bool pending() const { return exchange_ != nullptr; }
  // The request being answered, valid while pending(). Lets a handler that moved the
  // Responder elsewhere keep reading the request (e.g. its body) without copying it.
  Request* request() const { return exchange_ ? &exchange_->request : nullptr; }

 private:
  std::shared_ptr<internal::Exchange> exchange_;
};

}  // namespace meterd::http
