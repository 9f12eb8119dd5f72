#include "daemon/http/router.h"

#include <algorithm>

namespace meterd::http {
namespace {

// Splits "/a/b/c" into {"a","b","c"}. Returns false when the path does not start with '/'.
bool SplitPath(std::string_view path, std::vector<std::string_view>* out) {
  out->clear();
  if (path.empty() || path[0] != '/') return false;
  path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    out->push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return true;
}

// Whether `a` should be preferred over `b` when both match: at the first segment where one
// is literal and the other a parameter, the literal wins.
bool MoreSpecific(const Route& a, const Route& b) {
  for (size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
    if (a.segments[i].is_param != b.segments[i].is_param) return !a.segments[i].is_param;
  }
  return false;
}

bool SameShape(const Route& a, const Route& b) {
  if (a.segments.size() != b.segments.size()) return false;
  for (size_t i = 0; i < a.segments.size(); ++i) {
    if (a.segments[i].is_param != b.segments[i].is_param) return false;
    if (!a.segments[i].is_param && a.segments[i].text != b.segments[i].text) return false;
  }
  return true;
}

bool Matches(const Route& r, const std::vector<std::string_view>& parts) {
  if (r.segments.size() != parts.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (r.segments[i].is_param) {
      if (parts[i].empty()) return false;
    } else if (r.segments[i].text != parts[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status Router::Add(Verb method, std::string_view pattern, Handler handler, RouteOptions options) {
  auto route = std::make_unique<Route>();
  route->method = method;
  route->pattern = std::string(pattern);
  route->handler = std::move(handler);
  route->options = options;
  std::vector<std::string_view> parts;
  if (!SplitPath(pattern, &parts)) {
    return Status::InvalidArgument("route pattern must start with '/': " + std::string(pattern));
  }
  for (std::string_view part : parts) {
    Route::Segment seg;
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      seg.is_param = true;
      seg.text = std::string(part.substr(1, part.size() - 2));
      if (seg.text.empty() || seg.text.find_first_of("{}") != std::string::npos) {
        return Status::InvalidArgument("bad parameter segment in route " + std::string(pattern));
      }
    } else {
      if (part.find_first_of("{}") != std::string_view::npos) {
        return Status::InvalidArgument("parameters must fill a whole segment: " +
                                       std::string(pattern));
      }
      seg.text = std::string(part);
    }
    route->segments.push_back(std::move(seg));
  }
  if (!route->handler) return Status::InvalidArgument("route without handler: " + route->pattern);
  for (const auto& existing : routes_) {
    if (existing->method == method && SameShape(*existing, *route)) {
      return Status::AlreadyExists("route defined twice: " + std::string(pattern));
    }
  }
  route->index = routes_.size();
  routes_.push_back(std::move(route));
  return Status::Ok();
}

RouteMatch Router::Find(Verb method, std::string_view path) const {
  RouteMatch match;
  thread_local std::vector<std::string_view> parts;
  if (!SplitPath(path, &parts)) return match;
  const Verb lookup = method == Verb::head ? Verb::get : method;

  const Route* best = nullptr;
  std::vector<Verb> allowed;
  for (const auto& r : routes_) {
    if (!Matches(*r, parts)) continue;
    if (r->method == lookup) {
      if (best == nullptr || MoreSpecific(*r, *best)) best = r.get();
    } else {
      allowed.push_back(r->method);
    }
  }
  if (best != nullptr) {
    // A more specific pattern for another method does not make this one a 405: the path
    // resolved to `best` for this method.
    match.kind = RouteMatch::Kind::kFound;
    match.route = best;
    for (size_t i = 0; i < best->segments.size(); ++i) {
      if (!best->segments[i].is_param) continue;
      auto value = PercentDecode(parts[i], /*plus_is_space=*/false);
      if (!value.ok()) {
        match.status = value.status();
        return match;
      }
      match.params.emplace_back(best->segments[i].text, std::move(value).value());
    }
    return match;
  }
  if (allowed.empty()) return match;

  match.kind = RouteMatch::Kind::kMethodNotAllowed;
  if (std::find(allowed.begin(), allowed.end(), Verb::get) != allowed.end()) {
    allowed.push_back(Verb::head);
  }
  std::vector<std::string_view> names;
  for (Verb v : allowed) names.push_back(boost::beast::http::to_string(v));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) match.allow += ", ";
    match.allow += names[i];
  }
  return match;
}

}  // namespace meterd::http
