// A blocking Beast HTTP client for the server tests: real TCP to 127.0.0.1, with a deadline on
// every read (poll before recv) so a server bug fails a test instead of hanging it. One
// client per test thread.
#pragma once

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace meterd::http::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using ClientResponse = bhttp::response<bhttp::string_body>;

// A SyncReadStream/SyncWriteStream over a blocking socket whose reads give up after a timeout
// (asio's own blocking reads would wait forever).
class TimedSocket {
 public:
  TimedSocket(net::io_context& ioc, std::chrono::milliseconds timeout)
      : socket_(ioc), timeout_(timeout) {}

  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(timeout_.count()));
    if (r == 0) {
      ec = net::error::timed_out;
      return 0;
    }
    return socket_.read_some(buffers, ec);
  }
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers, beast::error_code& ec) {
    return socket_.write_some(buffers, ec);
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers) {
    return socket_.write_some(buffers);
  }

  tcp::socket& socket() { return socket_; }

 private:
  tcp::socket socket_;
  std::chrono::milliseconds timeout_;
};

class TestConnection {
 public:
  explicit TestConnection(uint16_t port,
                          std::chrono::milliseconds receive_timeout = std::chrono::seconds(5))
      : socket_(ioc_, receive_timeout) {
    socket_.socket().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  // Writes raw bytes (a request, part of one, or several pipelined).
  void SendRaw(std::string_view bytes) {
    net::write(socket_, net::buffer(bytes.data(), bytes.size()));
  }

  void Send(bhttp::verb method, std::string_view target, std::string body = {},
            std::string_view content_type = "application/json", bool keep_alive = true) {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (!body.empty()) req.set(bhttp::field::content_type, content_type);
    req.body() = std::move(body);
    req.keep_alive(keep_alive);
    req.prepare_payload();
    bhttp::write(socket_, req);
  }

  // Reads one response; ec reports EOF, reset or the receive timeout.
  ClientResponse Read(beast::error_code& ec, bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(head);
    bhttp::read(socket_, buffer_, parser, ec);
    return parser.release();
  }

  ClientResponse Read(bool head = false) {
    beast::error_code ec;
    ClientResponse r = Read(ec, head);
    if (ec) throw beast::system_error(ec);
    return r;
  }

  ClientResponse Request(bhttp::verb method, std::string_view target, std::string body = {}) {
    Send(method, target, std::move(body));
    return Read(method == bhttp::verb::head);
  }

  // Reads whatever arrives until EOF or error; returns the error that ended it.
  beast::error_code ReadUntilClosed(std::string* received = nullptr) {
    beast::error_code ec;
    char buf[4096];
    while (true) {
      const size_t n = socket_.read_some(net::buffer(buf), ec);
      if (received != nullptr) received->append(buf, n);
      if (ec) return ec;
    }
  }

  tcp::socket& socket() { return socket_.socket(); }

 private:
  net::io_context ioc_;
  TimedSocket socket_;
  beast::flat_buffer buffer_;
};

// The error a read ends with when the server closed the connection (rather than timing out).
inline bool IsClosedByPeer(const beast::error_code& ec) {
  return ec == net::error::eof || ec == bhttp::error::end_of_stream ||
         ec == net::error::connection_reset || ec == bhttp::error::partial_message;
}

}  // namespace meterd::http::testing
