// PaddedBody: a Beast body type for requests whose std::string value always keeps at least
// kBodyPadding bytes of spare capacity after the last byte, so the ingest parser can hand the
// body to simdjson in place (simdjson::padded_string_view(body) reads the string's capacity).
// Same thread-safety as std::string: one reader at a time.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

namespace meterd::http {

// Equal to SIMDJSON_PADDING (checked in body.cc, so this header stays free of simdjson.h).
inline constexpr size_t kBodyPadding = 64;

// Grows `s` (if needed) so that s.capacity() >= s.size() + kBodyPadding. Keeps the contents.
void EnsureBodyPadding(std::string& s);

struct PaddedBody {
  using value_type = std::string;

  static std::uint64_t size(const value_type& body) { return body.size(); }

  // Beast's BodyReader: the parser feeds it decoded body bytes (after de-chunking). The parser
  // has already enforced the body limit, so the up-front reserve is bounded by it.
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& content_length, boost::beast::error_code& ec) {
      ec = {};
      if (content_length) {
        if (*content_length > body_.max_size() - kBodyPadding) {
          ec = boost::beast::http::error::buffer_overflow;
          return;
        }
        body_.reserve(static_cast<size_t>(*content_length) + kBodyPadding);
      }
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        const boost::asio::const_buffer b = *it;
        body_.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      return n;
    }

    void finish(boost::beast::error_code& ec) {
      ec = {};
      EnsureBodyPadding(body_);
    }

   private:
    value_type& body_;
  };
};

}  // namespace meterd::http
