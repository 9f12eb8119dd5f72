// An HTTP request as a handler sees it: method, raw target, decoded path parameters and query
// parameters, headers and a padded body (see body.h). Built by the server on a connection's
// strand and then owned by the exchange; a handler may read it from any thread, one at a time.
// Also the percent-decoding and Accept negotiation helpers routes need.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "daemon/http/body.h"

namespace meterd::http {

using Verb = boost::beast::http::verb;
using BeastRequest = boost::beast::http::request<PaddedBody>;

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query strings).
// InvalidArgument on a '%' not followed by two hex digits.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Decoded `name=value` pairs of a query string, in order. A name without '=' has an empty value.
class QueryParams {
 public:
  // InvalidArgument when an escape is malformed.
  static Result<QueryParams> Parse(std::string_view query);

  // The first value of `name`, or nullopt when absent.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  // Every value of a repeated parameter, in order.
  std::vector<std::string_view> GetAll(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Whether the Accept header admits `media_type` ("text/csv"): wildcards and q-values are
// honoured (q=0 refuses); an absent or empty header accepts everything.
bool AcceptsMediaType(std::string_view accept_header, std::string_view media_type);

// The best of `offered` (in the server's order of preference) for this Accept header, or
// nullopt when none is acceptable (answer 406). Ties go to the earlier offer.
std::optional<std::string_view> NegotiateMediaType(std::string_view accept_header,
                                                   std::initializer_list<std::string_view> offered);

class Request {
 public:
  Request() = default;
  Request(BeastRequest message, std::string_view route_pattern,
          std::vector<std::pair<std::string_view, std::string>> path_params, QueryParams query);

  Verb method() const { return message_.method(); }
  std::string_view method_string() const { return message_.method_string(); }
  // The raw request-target, e.g. "/v1/customers/c%3A1/spend?month=2026-11".
  std::string_view target() const { return message_.target(); }
  // The raw (still percent-encoded) path part of the target.
  std::string_view path() const;
  // The pattern of the route that matched ("/v1/customers/{id}/spend"); empty when none did.
  std::string_view route_pattern() const { return route_pattern_; }

  // A decoded `{name}` segment of the route pattern; empty when the pattern has none.
  std::string_view path_param(std::string_view name) const;
  const QueryParams& query() const { return query_; }

  // The value of a header (case-insensitive name), or empty when absent.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  bool Accepts(std::string_view media_type) const {
    return AcceptsMediaType(header("Accept"), media_type);
  }
  // The media type of Content-Type without parameters, lowercased ("application/x-ndjson").
  std::string content_type() const;

  // The body. Its capacity always exceeds its size by at least kBodyPadding bytes, so
  // simdjson::padded_string_view(body()) parses it in place; keep that true if you modify it.
  std::string& body() { return message_.body(); }
  const std::string& body() const { return message_.body(); }

  bool keep_alive() const { return message_.keep_alive(); }
  const BeastRequest& message() const { return message_; }

 private:
  BeastRequest message_;
  std::string_view route_pattern_;  // points into the router, which outlives every request
  std::vector<std::pair<std::string_view, std::string>> path_params_;
  QueryParams query_;
};

}  // namespace meterd::http
