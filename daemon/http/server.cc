#include "daemon/http/server.h"

#include <fcntl.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "common/thread_name.h"
#include "daemon/http/connection.h"
#include "daemon/http/problem.h"
#include "daemon/lifecycle/log.h"

#ifndef METERD_VERSION
#define METERD_VERSION "dev"
#endif

namespace meterd::http {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::chrono::milliseconds kRejectTimeout{1'000};
constexpr std::chrono::milliseconds kAcceptBackoff{100};
constexpr std::chrono::milliseconds kForceCloseWait{2'000};

std::string FormatEndpoint(const tcp::endpoint& ep) {
  const std::string host = ep.address().to_string();
  const std::string port = std::to_string(ep.port());
  return ep.address().is_v6() ? "[" + host + "]:" + port : host + ":" + port;
}

// Writes "PORT\n" to a temporary file and renames it over `path`, so a reader never sees a
// partial file.
Status WritePortFile(const std::string& path, uint16_t port) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot create " + tmp + ": " + std::strerror(errno));
  const std::string text = std::to_string(port) + "\n";
  const ssize_t w = ::write(fd, text.data(), text.size());
  const int write_errno = errno;
  ::close(fd);
  if (w != static_cast<ssize_t>(text.size())) {
    ::unlink(tmp.c_str());
    return Status::IoError("cannot write " + tmp + ": " + std::strerror(write_errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    ::unlink(tmp.c_str());
    return Status::IoError("cannot rename " + tmp + " to " + path + ": " +
                           std::strerror(rename_errno));
  }
  return Status::Ok();
}

// Answers one connection beyond the limit with a canned 503 and closes it, lingering briefly
// so the peer can read the answer before the close.
class Rejection : public std::enable_shared_from_this<Rejection> {
 public:
  Rejection(tcp::socket socket, std::shared_ptr<const std::string> response)
      : stream_(std::move(socket)), response_(std::move(response)) {}

  void Start() {
    stream_.expires_after(kRejectTimeout);
    net::async_write(stream_, net::buffer(*response_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return;  // the stream closes with the last reference
                       beast::error_code ignored;
                       self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                       self->stream_.expires_after(kRejectTimeout);
                       self->Discard();
                     });
  }

 private:
  void Discard() {
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec) self->Discard();
                            });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<const std::string> response_;
  char scratch_[4096];
};

std::shared_ptr<const std::string> CannedOverloadResponse(const std::string& server_header) {
  const Response r = ServiceUnavailable(std::chrono::seconds(1),
                                        "the server is at its connection limit; retry later");
  std::string out = "HTTP/1.1 503 Service Unavailable\r\nServer: " + server_header +
                    "\r\nContent-Type: " + r.content_type + "\r\nRetry-After: 1\r\n" +
                    "Connection: close\r\nContent-Length: " + std::to_string(r.body.size()) +
                    "\r\n\r\n" + r.body;
  return std::make_shared<const std::string>(std::move(out));
}

}  // namespace

struct Server::Impl {
  Impl(config::ServerConfig config, Router r, prometheus::Registry* registry)
      : router(std::move(r)),
        ioc(std::max(1, config.io_threads)),
        acceptor(net::make_strand(ioc)),
        accept_backoff(acceptor.get_executor()) {
    if (registry != nullptr) metrics = std::make_unique<HttpMetrics>(*registry, router);
    ctx.config = std::move(config);
    ctx.router = &router;
    ctx.metrics = metrics.get();
    ctx.server_header = std::string("meterd/") + METERD_VERSION;
    overload_response = CannedOverloadResponse(ctx.server_header);
  }

  void Accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      OnAccept(ec, std::move(socket));
    });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors or buffers: retrying at once would spin; pause accepting instead.
      lifecycle::LogWarning("accept failed: " + ec.message());
      if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
          ec == net::error::no_memory) {
        accept_backoff.expires_after(kAcceptBackoff);
        accept_backoff.async_wait([this](beast::error_code wec) {
          if (!wec && acceptor.is_open()) Accept();
        });
        return;
      }
      Accept();
      return;
    }
    size_t live = 0;
    bool draining = false;
    {
      std::lock_guard<std::mutex> lock(ctx.mu);
      live = ctx.live.size();
      draining = ctx.draining;
    }
    if (draining) {
      beast::error_code ignored;
      socket.close(ignored);
    } else if (live >= static_cast<size_t>(std::max(1, ctx.config.max_connections))) {
      if (metrics != nullptr) metrics->ConnectionRejected();
      std::make_shared<Rejection>(std::move(socket), overload_response)->Start();
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Connection>(std::move(socket), ctx)->Start();
    }
    Accept();
  }

  void RunThread() {
    // Handlers do not throw by design; if one does anyway, log it and keep the thread serving.
    while (true) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        lifecycle::LogError(std::string("I/O thread caught an exception: ") + e.what());
      }
    }
  }

  std::vector<std::shared_ptr<Connection>> LiveConnections() {
    std::vector<std::shared_ptr<Connection>> out;
    std::lock_guard<std::mutex> lock(ctx.mu);
    for (auto& [ptr, weak] : ctx.live) {
      if (auto c = weak.lock()) out.push_back(std::move(c));
    }
    return out;
  }

  // Declaration order matters: the io_context (and the connections its handlers own) goes
  // first on destruction, while the router, metrics and context they use still exist.
  Router router;
  std::unique_ptr<HttpMetrics> metrics;
  ServerContext ctx;
  std::shared_ptr<const std::string> overload_response;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor;
  net::steady_timer accept_backoff;
  std::vector<std::thread> threads;
  std::atomic<uint16_t> port{0};
  std::string address;
  bool started = false;
  bool stopped = false;
};

Server::Server(config::ServerConfig config, Router router, prometheus::Registry* registry)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(router), registry)) {}

Server::~Server() {
  if (impl_->started && !impl_->stopped) Shutdown(std::chrono::milliseconds(0));
}

Status Server::Start() {
  Impl& s = *impl_;
  if (s.started) return Status::FailedPrecondition("server already started");
  const auto& cfg = s.ctx.config;
  const std::string where = cfg.listen_host + ":" + std::to_string(cfg.listen_port);

  beast::error_code ec;
  tcp::endpoint endpoint;
  const net::ip::address literal = net::ip::make_address(cfg.listen_host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(literal, cfg.listen_port);
  } else {
    tcp::resolver resolver(s.ioc);
    const auto results = resolver.resolve(cfg.listen_host, std::to_string(cfg.listen_port),
                                          tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return Status::IoError("cannot resolve listen address " + where + ": " + ec.message());
    }
    endpoint = results.begin()->endpoint();
  }

  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    return Status::IoError("cannot listen on " + where + ": " + ec.message());
  }
  const tcp::endpoint bound = s.acceptor.local_endpoint(ec);
  if (ec) return Status::IoError("cannot read the bound address: " + ec.message());
  s.port.store(bound.port());
  s.address = FormatEndpoint(bound);
  if (!cfg.port_file.empty()) {
    if (Status st = WritePortFile(cfg.port_file, bound.port()); !st.ok()) {
      beast::error_code ignored;
      s.acceptor.close(ignored);
      return st;
    }
  }
  lifecycle::LogInfo("listening on " + s.address);

  s.work.emplace(s.ioc.get_executor());
  s.Accept();
  const int n = std::max(1, cfg.io_threads);
  s.threads.reserve(n);
  for (int i = 0; i < n; ++i) {
    s.threads.emplace_back([&s, i, realtime = cfg.io_realtime] {
      SetCurrentThreadName("meterd-io-" + std::to_string(i));
      Status rt = realtime ? MarkCurrentThreadRealtime() : Status::Ok();
      if (!rt.ok() && i == 0) {
        lifecycle::LogWarning("server.io_realtime: " + rt.message() +
                              " (RLIMIT_RTPRIO is 0 and no CAP_SYS_NICE); I/O threads run as "
                              "normal threads");
      }
      if (!realtime || !rt.ok()) {
        // Reads are short and waited for: ask for a short slice (the daemon checks once at
        // start, from main.cc, whether the scheduler allows it).
        (void)MarkCurrentThreadLatencySensitive();
      }
      s.RunThread();
    });
  }
  s.started = true;
  return Status::Ok();
}

uint16_t Server::port() const { return impl_->port.load(); }

std::string Server::address() const { return impl_->address; }

boost::asio::any_io_executor Server::executor() const { return impl_->ioc.get_executor(); }

size_t Server::active_connections() const { return impl_->ctx.LiveCount(); }

bool Server::Shutdown(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return true;
  s.stopped = true;
  {
    std::lock_guard<std::mutex> lock(s.ctx.mu);
    s.ctx.draining = true;
  }
  std::promise<void> acceptor_closed;
  net::post(s.acceptor.get_executor(), [&s, &acceptor_closed] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    s.accept_backoff.cancel();
    acceptor_closed.set_value();
  });
  acceptor_closed.get_future().wait();

  for (auto& c : s.LiveConnections()) c->BeginDrain();
  bool graceful = false;
  {
    std::unique_lock<std::mutex> lock(s.ctx.mu);
    graceful = s.ctx.all_closed.wait_for(lock, grace, [&s] { return s.ctx.live.empty(); });
  }
  if (!graceful) {
    auto remaining = s.LiveConnections();
    lifecycle::LogWarning("shutdown grace period over; closing " +
                          std::to_string(remaining.size()) + " connection(s)");
    for (auto& c : remaining) c->ForceClose();
    remaining.clear();
    std::unique_lock<std::mutex> lock(s.ctx.mu);
    s.ctx.all_closed.wait_for(lock, kForceCloseWait, [&s] { return s.ctx.live.empty(); });
  }
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  return graceful;
}

}  // namespace meterd::http
