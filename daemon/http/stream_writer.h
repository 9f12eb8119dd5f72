// StreamWriter: the body of a streamed response (Responder::StartStream), for answers too large
// to hold in memory (partner exports of tens of millions of lines). The status line and headers
// go out when the response reaches the front of its connection's queue; the body follows in
// pieces as the producer hands them over, as HTTP/1.1 chunked transfer encoding (HTTP/1.0:
// raw bytes delimited by closing the connection). Backpressure is the contract: at most one
// Write is outstanding, and its callback runs once the piece has been written to the socket, so
// a producer that only makes the next piece in that callback holds one piece at a time however
// slow the client. Every piece has its own write deadline (ServerConfig::write_timeout).
//
// Errors: a piece that cannot be written (peer gone, deadline passed, server closing) completes
// its callback with a non-OK Status, and the connection is closed. Once the headers have been
// sent an error can no longer become a problem+json answer: Abort() (or dropping an unfinished
// writer) closes the connection without the terminating chunk, so the client sees a truncated
// transfer instead of a complete-looking file.
//
// Move-only. Calls may come from any thread but one at a time and in order (Write, its
// callback, the next Write, ..., Finish); callbacks run on the connection's strand.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace meterd::http {

class Connection;

namespace internal {
struct StreamChannel;
}  // namespace internal

class StreamWriter {
 public:
  // `buffer` is the piece's string handed back, cleared with its capacity kept, so a producer
  // can refill it instead of allocating a new piece each time.
  using OnDrained = std::function<void(Status status, std::string buffer)>;

  StreamWriter() = default;
  explicit StreamWriter(std::shared_ptr<internal::StreamChannel> channel);
  StreamWriter(StreamWriter&&) noexcept = default;
  StreamWriter& operator=(StreamWriter&& other) noexcept;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;
  // An unfinished writer aborts its response (see Abort).
  ~StreamWriter();

  // False for HEAD requests and statuses without a body: only the headers are sent, and the
  // producer should Finish() without producing anything.
  bool wants_body() const;
  // Whether Finish or Abort is still to come.
  bool active() const { return channel_ != nullptr; }

  // Queues `piece` and calls `on_drained` once it has been written (see the file comment).
  // REQUIRES: no other Write outstanding. An empty piece is allowed and writes nothing.
  // On an inactive writer, or when the connection is gone, on_drained runs at once with an
  // error, on the calling thread.
  void Write(std::string piece, OnDrained on_drained);
  // Ends the body once every queued piece has been written (may follow a Write at once).
  void Finish();
  // Closes the connection without ending the body: the client sees a truncated response.
  void Abort();

 private:
  std::shared_ptr<internal::StreamChannel> channel_;
};

namespace internal {

// Shared by a StreamWriter and the queued response of its connection. Everything but
// `connection` and `body_wanted` is touched only on the connection's strand.
struct StreamChannel {
  std::weak_ptr<Connection> connection;
  bool body_wanted = true;  // set before the writer is handed out; immutable afterwards

  std::string piece;                // the piece being written or waiting to be
  StreamWriter::OnDrained drained;  // non-null while a Write is outstanding
  bool finish_requested = false;
  bool done = false;  // ended, aborted or failed: later calls fail at once
};

}  // namespace internal
}  // namespace meterd::http
