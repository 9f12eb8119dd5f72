// meterd's HTTP/1.1 server (Boost.Beast): `io_threads` threads run one io_context; each
// connection lives on its own strand with per-connection limits and deadlines (see
// connection.h). Routes come from a Router built beforehand. Start() binds and serves;
// Shutdown() stops accepting, lets in-flight requests finish until a deadline, closes idle
// connections and joins the threads. Start/Shutdown are for the owning thread; port() and
// executor() are thread-safe once Start() returned.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "daemon/config/config.h"
#include "daemon/http/router.h"

namespace prometheus {
class Registry;
}

namespace meterd::http {

class Server {
 public:
  // `registry` may be null (no HTTP metrics); otherwise it must outlive the server.
  Server(config::ServerConfig config, Router router, prometheus::Registry* registry);
  // Shuts down with no grace if still running. REQUIRES: every thread that may still call a
  // Responder has stopped (their Send() would post to a destroyed io_context).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds listen_host:listen_port (port 0: a free port), starts accepting on io_threads
  // threads, logs "listening on HOST:PORT" and writes port_file (atomically) if configured.
  // IoError when the address cannot be bound.
  Status Start();

  // The bound port; 0 before Start().
  uint16_t port() const;
  // "HOST:PORT" as bound (IPv6 in brackets).
  std::string address() const;
  // The server's io_context executor, for timers of handlers (e.g. long polls).
  boost::asio::any_io_executor executor() const;
  size_t active_connections() const;

  // Stops accepting, finishes in-flight requests for up to `grace` (their responses close
  // their connections), closes idle connections at once, closes the rest at the deadline, and
  // joins the I/O threads. Returns true when every connection ended within the grace period.
  // Idempotent.
  bool Shutdown(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meterd::http
