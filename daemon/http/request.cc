#include "daemon/http/request.h"

#include <algorithm>
#include <cctype>

namespace meterd::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// One media range of an Accept header with its quality in thousandths (q=0.5 -> 500); the
// q-value grammar allows at most three decimals, so integers keep it exact.
struct MediaRange {
  std::string_view type;     // "text", "*"
  std::string_view subtype;  // "csv", "*"
  int quality = 1000;
};

int ParseQuality(std::string_view q) {
  // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); anything else counts as 1.
  if (q.empty() || (q[0] != '0' && q[0] != '1')) return 1000;
  int value = (q[0] - '0') * 1000;
  if (q.size() > 1) {
    if (q[1] != '.') return 1000;
    int scale = 100;
    for (size_t i = 2; i < q.size() && i < 5; ++i) {
      if (q[i] < '0' || q[i] > '9') return 1000;
      value += (q[i] - '0') * scale;
      scale /= 10;
    }
  }
  return std::min(value, 1000);
}

template <typename Fn>
void ForEachMediaRange(std::string_view accept, Fn&& fn) {
  while (!accept.empty()) {
    const size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    MediaRange range;
    const size_t semi = item.find(';');
    std::string_view type = Trim(item.substr(0, semi));
    if (type.empty()) continue;
    const size_t slash = type.find('/');
    range.type = type.substr(0, slash);
    range.subtype =
        slash == std::string_view::npos ? std::string_view("*") : type.substr(slash + 1);
    std::string_view params =
        semi == std::string_view::npos ? std::string_view() : item.substr(semi + 1);
    while (!params.empty()) {
      const size_t next = params.find(';');
      std::string_view param = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        range.quality = ParseQuality(Trim(param.substr(2)));
      }
    }
    fn(range);
  }
}

// The quality the header gives `media_type`: the most specific matching range decides
// (RFC 9110 §12.5.1); -1 when nothing matches.
int QualityFor(std::string_view accept, std::string_view media_type) {
  const size_t slash = media_type.find('/');
  const std::string_view type = media_type.substr(0, slash);
  const std::string_view subtype =
      slash == std::string_view::npos ? std::string_view() : media_type.substr(slash + 1);
  int best_specificity = -1;
  int quality = -1;
  ForEachMediaRange(accept, [&](const MediaRange& r) {
    int specificity = -1;
    if (r.type == "*" && r.subtype == "*") {
      specificity = 0;
    } else if (EqualsIgnoreCase(r.type, type) && r.subtype == "*") {
      specificity = 1;
    } else if (EqualsIgnoreCase(r.type, type) && EqualsIgnoreCase(r.subtype, subtype)) {
      specificity = 2;
    }
    if (specificity > best_specificity) {
      best_specificity = specificity;
      quality = r.quality;
    }
  });
  return quality;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const bool complete = i + 2 < text.size();
      const int hi = complete ? HexValue(text[i + 1]) : -1;
      const int lo = complete ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("malformed percent-escape in \"" + std::string(text) + "\"");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<QueryParams> QueryParams::Parse(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    auto name = PercentDecode(item.substr(0, eq), /*plus_is_space=*/true);
    if (!name.ok()) return name.status();
    auto value =
        PercentDecode(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1),
                      /*plus_is_space=*/true);
    if (!value.ok()) return value.status();
    params.items_.emplace_back(std::move(name).value(), std::move(value).value());
  }
  return params;
}

std::optional<std::string_view> QueryParams::Get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<std::string_view> QueryParams::GetAll(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [k, v] : items_) {
    if (k == name) values.emplace_back(v);
  }
  return values;
}

bool AcceptsMediaType(std::string_view accept_header, std::string_view media_type) {
  if (Trim(accept_header).empty()) return true;
  return QualityFor(accept_header, media_type) > 0;
}

std::optional<std::string_view> NegotiateMediaType(
    std::string_view accept_header, std::initializer_list<std::string_view> offered) {
  if (offered.size() == 0) return std::nullopt;
  if (Trim(accept_header).empty()) return *offered.begin();
  std::optional<std::string_view> best;
  int best_quality = 0;
  for (std::string_view type : offered) {
    const int q = QualityFor(accept_header, type);
    if (q > best_quality) {
      best_quality = q;
      best = type;
    }
  }
  return best;
}

Request::Request(BeastRequest message, std::string_view route_pattern,
                 std::vector<std::pair<std::string_view, std::string>> path_params,
                 QueryParams query)
    : message_(std::move(message)),
      route_pattern_(route_pattern),
      path_params_(std::move(path_params)),
      query_(std::move(query)) {}

std::string_view Request::path() const {
  const std::string_view t = target();
  return t.substr(0, t.find('?'));
}

std::string_view Request::path_param(std::string_view name) const {
  for (const auto& [k, v] : path_params_) {
    if (k == name) return v;
  }
  return {};
}

std::string_view Request::header(std::string_view name) const {
  const auto it = message_.find(name);
  return it == message_.end() ? std::string_view() : std::string_view(it->value());
}

bool Request::has_header(std::string_view name) const {
  return message_.find(name) != message_.end();
}

std::string Request::content_type() const {
  std::string_view v = header("Content-Type");
  v = Trim(v.substr(0, v.find(';')));
  std::string out(v);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace meterd::http
