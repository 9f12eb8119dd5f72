#include "daemon/http/connection.h"

#include <time.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <string>

#include "daemon/http/problem.h"
#include "daemon/http/responder.h"
#include "daemon/lifecycle/log.h"

namespace meterd::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// Bytes asked of the socket per read; the flat buffer holds headers plus one such chunk.
constexpr size_t kReadChunk = 16 * 1024;
// After a response that closes the connection we read and discard what the peer still sends
// for a while: closing a socket with unread input makes the kernel send RST, which can destroy
// our response before the peer reads it (e.g. a 413 for a body the client is still sending).
constexpr std::chrono::milliseconds kLingerTimeout{2'000};
constexpr size_t kLingerMaxBytes = size_t{8} << 20;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// RFC 9110 IMF-fixdate, formatted at most once per second per thread.
std::string_view HttpDate() {
  thread_local time_t cached_second = -1;
  thread_local char buf[40];
  thread_local size_t len = 0;
  const time_t now = ::time(nullptr);
  if (now != cached_second) {
    struct tm tm {};
    gmtime_r(&now, &tm);
    len = strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {buf, len};
}

bool IsParseError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

bool StatusHasNoBody(int status) { return status < 200 || status == 204 || status == 304; }

}  // namespace

Connection::Connection(tcp::socket socket, ServerContext& ctx)
    : ctx_(ctx),
      stream_(std::move(socket)),
      timer_(stream_.get_executor()),
      buffer_(ctx.config.max_header_bytes + kReadChunk) {}

Connection::~Connection() {
  // Torn down without CloseNow (the io_context is being destroyed): a producer's callback would
  // never run, and it may own the producer, which owns the writer, which owns the channel.
  for (Outgoing& o : queue_) {
    if (o.stream != nullptr) {
      o.stream->done = true;
      StreamWriter::OnDrained dropped = std::move(o.stream->drained);
    }
  }
  {
    std::lock_guard<std::mutex> lock(ctx_.mu);
    ctx_.live.erase(this);
    if (ctx_.live.empty()) ctx_.all_closed.notify_all();
  }
  if (ctx_.metrics != nullptr) ctx_.metrics->ConnectionClosed();
}

void Connection::Start() {
  {
    std::lock_guard<std::mutex> lock(ctx_.mu);
    ctx_.live.emplace(this, weak_from_this());
  }
  if (ctx_.metrics != nullptr) ctx_.metrics->ConnectionOpened();
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->MaybeRead(); });
}

void Connection::Deliver(uint64_t sequence, Response response, bool unanswered) {
  net::post(stream_.get_executor(), [self = shared_from_this(), sequence, unanswered,
                                     response = std::move(response)]() mutable {
    self->OnDelivered(sequence, std::move(response), unanswered, nullptr);
  });
}

void Connection::DeliverStream(uint64_t sequence, Response head,
                               std::shared_ptr<internal::StreamChannel> channel) {
  net::post(stream_.get_executor(), [self = shared_from_this(), sequence, head = std::move(head),
                                     channel = std::move(channel)]() mutable {
    self->OnDelivered(sequence, std::move(head), false, std::move(channel));
  });
}

void Connection::StreamWrite(std::shared_ptr<internal::StreamChannel> channel, std::string piece,
                             StreamWriter::OnDrained on_drained) {
  net::post(stream_.get_executor(),
            [self = shared_from_this(), channel = std::move(channel), piece = std::move(piece),
             on_drained = std::move(on_drained)]() mutable {
              self->OnStreamWrite(channel, std::move(piece), std::move(on_drained));
            });
}

void Connection::StreamFinish(std::shared_ptr<internal::StreamChannel> channel) {
  net::post(stream_.get_executor(), [self = shared_from_this(), channel = std::move(channel)] {
    self->OnStreamFinish(channel);
  });
}

void Connection::StreamAbort(std::shared_ptr<internal::StreamChannel> channel) {
  net::post(stream_.get_executor(), [self = shared_from_this(), channel = std::move(channel)] {
    self->OnStreamAbort(channel);
  });
}

void Connection::BeginDrain() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->DoDrain(); });
}

void Connection::ForceClose() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->CloseNow(); });
}

size_t Connection::BodyLimitFor(const Route* route) const {
  if (route != nullptr && route->options.body_limit == BodyLimit::kBulk) {
    return ctx_.config.max_bulk_body_bytes;
  }
  return ctx_.config.max_body_bytes;
}

// ---- reading ----

void Connection::MaybeRead() {
  if (closed_ || lingering_ || reading_ || in_handler_ || stop_reading_) return;
  if (queue_.size() >= static_cast<size_t>(std::max(1, ctx_.config.max_pipelined))) return;
  StartRead();
}

void Connection::StartRead() {
  parser_.emplace();
  parser_->header_limit(
      static_cast<std::uint32_t>(std::min<size_t>(ctx_.config.max_header_bytes, UINT32_MAX)));
  // The body limit depends on the route, known only after the headers: OnHeader checks the
  // Content-Length itself and then sets the limit that bounds a chunked body.
  parser_->body_limit(boost::none);
  match_ = RouteMatch{};
  if (buffer_.size() == 0) {
    ReadIdle();
  } else {
    ReadHeader();  // a pipelined request is already (partly) buffered
  }
}

void Connection::ReadIdle() {
  reading_ = true;
  idle_wait_ = true;
  // No stream deadline while waiting for a request: timer_ enforces the idle timeout, and only
  // while nothing is being written or handled (a slow handler must not close its connection).
  stream_.expires_never();
  const size_t room = std::min(kReadChunk, buffer_.max_size() - buffer_.size());
  stream_.async_read_some(buffer_.prepare(room),
                          beast::bind_front_handler(&Connection::OnIdleRead, shared_from_this()));
  UpdateIdleTimer();
}

void Connection::OnIdleRead(beast::error_code ec, size_t n) {
  reading_ = false;
  idle_wait_ = false;
  if (closed_) return;
  UpdateIdleTimer();
  if (lingering_) {
    if (ec || linger_bytes_ + n > kLingerMaxBytes) {
      CloseNow();
      return;
    }
    linger_bytes_ += n;
    LingerRead();
    return;
  }
  if (ec) {
    if (ec == net::error::eof) {
      stop_reading_ = true;  // the peer half-closed: answer what is queued, then close
      MaybeFinish();
      return;
    }
    CloseNow();
    return;
  }
  buffer_.commit(n);
  if (stop_reading_) {  // draining: no new requests
    buffer_.consume(buffer_.size());
    MaybeFinish();
    return;
  }
  ReadHeader();
}

void Connection::ReadHeader() {
  reading_ = true;
  stream_.expires_after(ctx_.config.header_timeout);
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void Connection::OnHeader(beast::error_code ec) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    OnReadError(ec, RequestError::kHeaderTimeout);
    return;
  }
  started_ = Clock::now();
  const auto& req = parser_->get();
  head_ = req.method() == Verb::head;
  keep_alive_ = req.keep_alive();
  version_ = req.version();
  const std::string_view target = req.target();
  if (target.empty() || target[0] != '/') {
    Reject(400, "the request-target must be an absolute path", RequestError::kBadRequest);
    return;
  }
  // RFC 9112 §6.3: a request whose Transfer-Encoding does not end in chunked has no length we
  // can trust. Beast would read it as bodiless and parse what follows as the next request,
  // which a proxy in front may have framed differently (request smuggling): refuse it.
  if (req.count(bhttp::field::transfer_encoding) > 0 && !parser_->chunked()) {
    Reject(400, "Transfer-Encoding must end in chunked", RequestError::kBadRequest);
    return;
  }
  match_ = ctx_.router->Find(req.method(), target.substr(0, target.find('?')));
  const Route* route = match_.kind == RouteMatch::Kind::kFound ? match_.route : nullptr;
  const size_t limit = BodyLimitFor(route);
  if (const auto length = parser_->content_length(); length && *length > limit) {
    Reject(
        413,
        "the request body exceeds the limit of " + std::to_string(limit) + " bytes for this route",
        RequestError::kBodyTooLarge);
    return;
  }
  parser_->body_limit(limit);
  if (parser_->is_done()) {
    Dispatch();
    return;
  }
  // A client that asked to wait for "100 Continue" gets it before we read the body, unless
  // earlier responses are still queued (they must go first; the client then sends anyway).
  if (beast::iequals(req[bhttp::field::expect], "100-continue") && queue_.empty() && !writing_) {
    writing_ = true;
    stream_.expires_after(ctx_.config.write_timeout);
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](beast::error_code wec, size_t) {
                       self->writing_ = false;
                       if (self->closed_) return;
                       if (wec) {
                         self->CloseNow();
                         return;
                       }
                       self->ReadBody();
                     });
    return;
  }
  ReadBody();
}

void Connection::ReadBody() {
  reading_ = true;
  stream_.expires_after(ctx_.config.body_timeout);
  bhttp::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
}

void Connection::OnBody(beast::error_code ec) {
  reading_ = false;
  if (closed_) return;
  if (ec == bhttp::error::body_limit) {
    Reject(413,
           "the request body exceeds the limit of " + std::to_string(BodyLimitFor(match_.route)) +
               " bytes for this route",
           RequestError::kBodyTooLarge);
    return;
  }
  if (ec) {
    OnReadError(ec, RequestError::kBodyTimeout);
    return;
  }
  Dispatch();
}

void Connection::OnReadError(beast::error_code ec, RequestError timeout_reason) {
  if (ec == beast::error::timeout) {
    // tcp_stream has already closed the socket: a peer that cannot send a request within the
    // deadline (slowloris) loses its connection.
    if (ctx_.metrics != nullptr) ctx_.metrics->CountError(timeout_reason);
    CloseNow();
    return;
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    Reject(431,
           "the request line and headers exceed " + std::to_string(ctx_.config.max_header_bytes) +
               " bytes",
           RequestError::kHeaderTooLarge);
    return;
  }
  if (ec == bhttp::error::body_limit) {
    Reject(413, "the request body is too large", RequestError::kBodyTooLarge);
    return;
  }
  if (IsParseError(ec) && ec != bhttp::error::end_of_stream &&
      ec != bhttp::error::partial_message) {
    Reject(400, "malformed HTTP request: " + ec.message(), RequestError::kBadRequest);
    return;
  }
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
    // The peer half-closed in the middle of a request. That request can never complete, but
    // the peer may still be reading the answers to its earlier ones (a streamed export still
    // being written was cut off here, found by fuzz/http_fuzz): finish those, then close.
    stop_reading_ = true;
    MaybeFinish();
    return;
  }
  CloseNow();  // reset or aborted: nobody to answer
}

// ---- handling ----

void Connection::Dispatch() {
  auto& req = parser_->get();
  const std::string_view target = req.target();
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  route_ = match_.kind == RouteMatch::Kind::kFound && ctx_.metrics != nullptr
               ? match_.route->index
               : (ctx_.metrics != nullptr ? ctx_.metrics->unmatched_route() : 0);
  if (!keep_alive_) stop_reading_ = true;

  Outgoing direct;  // answers the server gives without a handler
  direct.route = route_;
  direct.head = head_;
  direct.keep_alive = keep_alive_;
  direct.version = version_;
  direct.started = started_;
  auto query =
      QueryParams::Parse(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  bool answered = true;
  if (match_.kind == RouteMatch::Kind::kNotFound) {
    direct.response = MakeProblem(404, "no resource at " + std::string(path));
  } else if (match_.kind == RouteMatch::Kind::kMethodNotAllowed) {
    direct.response = MakeProblem(
        405, std::string(req.method_string()) + " is not allowed on " + std::string(path));
    direct.response.WithHeader("Allow", match_.allow);
  } else if (!match_.status.ok()) {
    direct.response = MakeProblem(400, match_.status.message());
  } else if (!query.ok()) {
    direct.response = MakeProblem(400, query.status().message());
  } else {
    answered = false;
  }
  if (answered) {
    parser_.reset();
    Enqueue(std::move(direct));
    return;
  }

  const Route* route = match_.route;
  auto exchange = std::make_shared<internal::Exchange>();
  exchange->request = Request(parser_->release(), route->pattern, std::move(match_.params),
                              std::move(query).value());
  exchange->connection = weak_from_this();
  exchange->sequence = ++sequence_;
  parser_.reset();
  in_handler_ = true;
  self_while_handling_ = shared_from_this();
  try {
    route->handler(exchange->request, Responder(exchange));
  } catch (const std::exception& e) {
    // The Responder died during unwinding and has already queued a 500.
    if (ctx_.metrics != nullptr) ctx_.metrics->CountError(RequestError::kHandlerException);
    lifecycle::LogError("handler for " + route->pattern + " threw: " + e.what());
  } catch (...) {
    if (ctx_.metrics != nullptr) ctx_.metrics->CountError(RequestError::kHandlerException);
    lifecycle::LogError("handler for " + route->pattern + " threw a non-std exception");
  }
}

void Connection::OnDelivered(uint64_t sequence, Response response, bool unanswered,
                             std::shared_ptr<internal::StreamChannel> stream) {
  if (closed_ || !in_handler_ || sequence != sequence_) {
    if (stream != nullptr) FailStream(*stream, Status::Unavailable("the connection is closed"));
    return;
  }
  if (unanswered) {
    if (ctx_.metrics != nullptr) ctx_.metrics->CountError(RequestError::kNoResponse);
    lifecycle::LogWarning("handler for " + std::string(match_.route ? match_.route->pattern : "?") +
                          " dropped its Responder; answered 500");
  }
  in_handler_ = false;
  self_while_handling_.reset();  // the posted task that runs us holds a reference too
  Outgoing out;
  out.response = std::move(response);
  out.route = route_;
  out.head = head_;
  out.keep_alive = keep_alive_;
  out.version = version_;
  out.started = started_;
  out.stream = std::move(stream);
  Enqueue(std::move(out));
}

void Connection::Reject(int status, std::string_view detail, RequestError reason) {
  if (ctx_.metrics != nullptr) ctx_.metrics->CountError(reason);
  stop_reading_ = true;
  parser_.reset();  // REQUIRES: no read outstanding (we are in its completion handler)
  Outgoing out;
  out.response = MakeProblem(status, detail);
  out.route = match_.kind == RouteMatch::Kind::kFound && ctx_.metrics != nullptr
                  ? match_.route->index
                  : (ctx_.metrics != nullptr ? ctx_.metrics->unmatched_route() : 0);
  out.keep_alive = false;
  out.close = true;
  out.linger = true;
  out.started = Clock::now();
  Enqueue(std::move(out));
}

// ---- writing ----

void Connection::Enqueue(Outgoing out) {
  queue_.push_back(std::move(out));
  WriteNext();
  MaybeRead();
  MaybeFinish();
  UpdateIdleTimer();
}

void Connection::WriteNext() {
  if (closed_ || lingering_ || writing_ || queue_.empty()) return;
  // The front is a stream whose head is out and whose producer has not handed over its next
  // piece: it keeps the front until it ends (PumpStream drives it); later answers wait.
  if (stream_sr_) return;
  Outgoing& o = queue_.front();
  // The last response of the connection says so; when draining that is the last one queued.
  const bool more_requests_possible = !stop_reading_ || in_handler_ || (reading_ && !idle_wait_);
  o.close = o.close || !o.keep_alive || (queue_.size() == 1 && !more_requests_possible);

  // HTTP/1.0 has no chunked encoding: a streamed body there ends by closing the connection.
  if (o.stream != nullptr && o.version == 10) o.close = true;
  if (o.stream != nullptr) {
    WriteStreamHead(o);
    return;
  }

  const int status = o.response.status;
  out_ = {};
  SetHeaders(out_, o);
  if (!StatusHasNoBody(status)) {
    out_.content_length(o.response.body.size());
    if (!o.head) out_.body() = std::move(o.response.body);
  }
  out_.keep_alive(!o.close);

  writing_ = true;
  UpdateIdleTimer();
  stream_.expires_after(ctx_.config.write_timeout);
  bhttp::async_write(stream_, out_, [self = shared_from_this()](beast::error_code ec, size_t) {
    self->OnWrite(ec);
  });
}

template <class Message>
void Connection::SetHeaders(Message& msg, const Outgoing& o) {
  msg.version(o.version == 10 ? 10 : 11);
  msg.result(static_cast<unsigned>(o.response.status));
  msg.set(bhttp::field::server, ctx_.server_header);
  msg.set(bhttp::field::date, HttpDate());
  if (!o.response.content_type.empty()) {
    msg.set(bhttp::field::content_type, o.response.content_type);
  }
  for (const auto& [name, value] : o.response.headers) {
    // A CR or LF from data (a customer name in Content-Disposition, say) would let it write
    // its own headers or a second response; such a header is dropped, loudly.
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      lifecycle::LogError("dropped a response header with CR/LF: " + name);
      continue;
    }
    msg.insert(name, value);
  }
}

void Connection::OnWrite(beast::error_code ec) {
  writing_ = false;
  if (closed_) return;
  CompleteFront(ec);
}

void Connection::CompleteFront(beast::error_code ec) {
  Outgoing& o = queue_.front();
  if (ctx_.metrics != nullptr) {
    const std::chrono::duration<double> took = Clock::now() - o.started;
    ctx_.metrics->ObserveRequest(o.route, o.response.status, took.count());
  }
  const bool close = o.close;
  const bool linger = o.linger;
  const std::shared_ptr<internal::StreamChannel> stream = std::move(o.stream);
  queue_.pop_front();
  out_ = {};  // release the body now, not at the next write
  // Moving an empty (short-string) body in keeps the old heap buffer: drop it explicitly, or an
  // idle keep-alive connection that fetched a large export holds its memory.
  std::string().swap(out_.body());
  stream_sr_.reset();  // before its message: the serializer refers to it
  stream_out_ = {};
  if (stream != nullptr) {
    if (ec) {
      FailStream(*stream, ec == beast::error::timeout
                              ? Status::Unavailable("the write deadline passed")
                              : Status::Unavailable("the client went away: " + ec.message()));
    } else {
      stream->done = true;
    }
  }
  if (ec) {
    if (ec == beast::error::timeout && ctx_.metrics != nullptr) {
      ctx_.metrics->CountError(RequestError::kWriteTimeout);
    }
    CloseNow();
    return;
  }
  if (close) {
    // Unread input makes close() send RST, which can destroy the response before the peer
    // reads it; only then is it worth lingering (a refused request's body may still be on
    // its way, so those always linger).
    beast::error_code avail_ec;
    const size_t unread = stream_.socket().available(avail_ec);
    if (linger || unread > 0 || buffer_.size() > 0) {
      LingerThenClose();
    } else {
      CloseNow();
    }
    return;
  }
  WriteNext();
  MaybeRead();
  MaybeFinish();
  UpdateIdleTimer();
}

// ---- streamed responses ----

void Connection::WriteStreamHead(Outgoing& o) {
  stream_out_ = {};
  SetHeaders(stream_out_, o);
  const bool has_body = !StatusHasNoBody(o.response.status);
  // HEAD announces what GET would send (chunked) and then sends nothing more.
  if (has_body && o.version != 10) stream_out_.chunked(true);
  stream_out_.keep_alive(!o.close);
  stream_out_.body().data = nullptr;
  stream_out_.body().size = 0;
  stream_out_.body().more = true;
  stream_sr_.emplace(stream_out_);

  writing_ = true;
  UpdateIdleTimer();
  stream_.expires_after(ctx_.config.write_timeout);
  bhttp::async_write_header(
      stream_, *stream_sr_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnStreamHead(ec); });
}

void Connection::OnStreamHead(beast::error_code ec) {
  writing_ = false;
  if (closed_) return;
  if (ec) {
    CompleteFront(ec);
    return;
  }
  PumpStream();
}

void Connection::PumpStream() {
  if (closed_ || lingering_ || writing_ || queue_.empty() || !stream_sr_) return;
  Outgoing& o = queue_.front();
  if (o.stream == nullptr) return;
  internal::StreamChannel& ch = *o.stream;
  const bool send_body = ch.body_wanted && !o.head && !StatusHasNoBody(o.response.status);
  if (ch.drained) {
    // An empty piece must not reach the serializer: a zero-size chunk ends a chunked body.
    if (send_body && !ch.piece.empty()) {
      stream_out_.body().data = ch.piece.data();
      stream_out_.body().size = ch.piece.size();
      stream_out_.body().more = true;
      writing_ = true;
      stream_.expires_after(ctx_.config.write_timeout);  // per piece, not per response
      bhttp::async_write(
          stream_, *stream_sr_,
          [self = shared_from_this()](beast::error_code wec, size_t) { self->OnStreamPiece(wec); });
      return;
    }
    StreamWriter::OnDrained drained = std::move(ch.drained);
    ch.drained = nullptr;
    std::string buffer = std::move(ch.piece);
    ch.piece = std::string();
    buffer.clear();
    drained(Status::Ok(), std::move(buffer));  // may only post: nothing here changes under us
  }
  if (!ch.finish_requested || ch.drained) return;
  if (!send_body) {
    CompleteFront({});
    return;
  }
  stream_out_.body().data = nullptr;
  stream_out_.body().size = 0;
  stream_out_.body().more = false;  // the serializer writes the last chunk
  writing_ = true;
  stream_.expires_after(ctx_.config.write_timeout);
  bhttp::async_write(stream_, *stream_sr_,
                     [self = shared_from_this()](beast::error_code wec, size_t) {
                       self->writing_ = false;
                       if (self->closed_) return;
                       self->CompleteFront(wec);
                     });
}

void Connection::OnStreamPiece(beast::error_code ec) {
  writing_ = false;
  if (closed_) return;
  // buffer_body reports a piece written in full and more to come as need_buffer.
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) {
    CompleteFront(ec);
    return;
  }
  internal::StreamChannel& ch = *queue_.front().stream;
  StreamWriter::OnDrained drained = std::move(ch.drained);
  ch.drained = nullptr;
  std::string buffer = std::move(ch.piece);
  ch.piece = std::string();
  buffer.clear();
  drained(Status::Ok(), std::move(buffer));
  PumpStream();  // a Finish may already be waiting
}

void Connection::OnStreamWrite(const std::shared_ptr<internal::StreamChannel>& channel,
                               std::string piece, StreamWriter::OnDrained on_drained) {
  if (closed_ || channel->done) {
    on_drained(Status::Unavailable("the connection is closed"), std::move(piece));
    return;
  }
  if (channel->drained || channel->finish_requested) {
    on_drained(Status::FailedPrecondition("a Write is outstanding or the stream is finished"),
               std::move(piece));
    return;
  }
  channel->piece = std::move(piece);
  channel->drained = std::move(on_drained);
  PumpStream();  // does nothing until this stream is at the front with its head sent
}

void Connection::OnStreamFinish(const std::shared_ptr<internal::StreamChannel>& channel) {
  if (closed_ || channel->done) return;
  channel->finish_requested = true;
  PumpStream();
}

void Connection::OnStreamAbort(const std::shared_ptr<internal::StreamChannel>& channel) {
  if (closed_ || channel->done) return;
  // The body cannot be completed and its headers may be out: only closing the connection tells
  // the client the response is incomplete (it never sees the terminating chunk).
  channel->done = true;
  if (ctx_.metrics != nullptr) ctx_.metrics->CountError(RequestError::kStreamAborted);
  CloseNow();
}

void Connection::FailStream(internal::StreamChannel& channel, const Status& status) {
  channel.done = true;
  if (!channel.drained) return;
  net::post(stream_.get_executor(),
            [drained = std::move(channel.drained), piece = std::move(channel.piece),
             status]() mutable { drained(status, std::move(piece)); });
  channel.drained = nullptr;
  channel.piece = std::string();
}

// ---- closing ----

void Connection::MaybeFinish() {
  if (closed_ || lingering_) return;
  const bool reading_request = reading_ && !idle_wait_;
  if (stop_reading_ && !reading_request && !in_handler_ && !writing_ && queue_.empty()) {
    CloseNow();
  }
}

void Connection::UpdateIdleTimer() {
  const bool idle =
      !closed_ && !lingering_ && idle_wait_ && !writing_ && queue_.empty() && !in_handler_;
  if (idle && !idle_timer_armed_) {
    idle_timer_armed_ = true;
    ArmTimer(ctx_.config.idle_timeout, RequestError::kIdleTimeout);
  } else if (!idle && idle_timer_armed_) {
    idle_timer_armed_ = false;
    CancelTimer();
  }
}

void Connection::ArmTimer(std::chrono::milliseconds after, RequestError reason) {
  const uint64_t generation = ++timer_generation_;
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this(), generation, reason](beast::error_code ec) {
    if (ec || generation != self->timer_generation_ || self->closed_) return;
    if (reason == RequestError::kIdleTimeout && self->ctx_.metrics != nullptr) {
      self->ctx_.metrics->CountError(reason);
    }
    self->CloseNow();
  });
}

void Connection::CancelTimer() {
  ++timer_generation_;
  timer_.cancel();
}

void Connection::LingerThenClose() {
  lingering_ = true;
  idle_timer_armed_ = false;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    CloseNow();
    return;
  }
  // kIdleTimeout is not counted for the linger deadline: see ArmTimer.
  ArmTimer(kLingerTimeout, RequestError::kCount);
  if (!reading_) LingerRead();  // else the outstanding idle read continues the linger
}

void Connection::LingerRead() {
  buffer_.consume(buffer_.size());
  reading_ = true;
  idle_wait_ = true;
  stream_.expires_never();
  const size_t room = std::min(kReadChunk, buffer_.max_size());
  stream_.async_read_some(buffer_.prepare(room),
                          beast::bind_front_handler(&Connection::OnIdleRead, shared_from_this()));
}

void Connection::DoDrain() {
  draining_ = true;
  stop_reading_ = true;
  if (closed_ || lingering_) return;
  // Idle (or waiting for a request nobody has started sending): close now. Otherwise the
  // request in flight finishes and its response, marked "Connection: close", ends the
  // connection; the server force-closes whatever remains at the shutdown deadline.
  MaybeFinish();
}

void Connection::CloseNow() {
  if (closed_) return;
  closed_ = true;
  ++timer_generation_;
  timer_.cancel();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();  // outstanding operations complete with operation_aborted
  for (Outgoing& o : queue_) {
    if (o.stream != nullptr) FailStream(*o.stream, Status::Unavailable("the connection closed"));
  }
  queue_.clear();
  self_while_handling_.reset();  // REQUIRES: called from a task holding a reference
}

}  // namespace meterd::http
