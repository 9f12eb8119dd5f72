#include "daemon/config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <limits>
#include <string_view>

#include "rating/decimal.h"

#ifndef METERD_VERSION
#define METERD_VERSION "dev"
#endif

extern char** environ;

namespace meterd::config {
namespace {

using std::chrono::milliseconds;

// One setting as it arrived: text (flags, environment, TOML strings and numbers rendered as
// text) or a list (TOML arrays), and where it came from for the error message.
struct Input {
  enum class Type { kText, kInteger, kBoolean, kList, kFloat, kOther };
  Type type = Type::kText;
  std::string text;
  std::vector<std::string> list;
  std::string source;      // "--io-threads", "METERD_IO_THREADS", "meterd.toml:12"
  bool from_toml = false;  // TOML is typed: there "2" is a string, not an integer
};

using Setter = std::function<Status(Config&, const Input&)>;
using Shower = std::function<std::string(const Config&)>;

struct Option {
  std::string_view toml;        // "server.io_threads"
  std::string_view flag;        // "io-threads"
  std::string_view env;         // "METERD_IO_THREADS"
  std::string_view value_name;  // "N" in "--io-threads N"; empty for boolean flags
  std::string_view help;
  Setter set;
  Shower show;
};

Status Bad(const Option& o, const Input& in, std::string_view expected) {
  std::string got = in.type == Input::Type::kList ? "a list" : "\"" + in.text + "\"";
  if (in.type == Input::Type::kFloat) got = "a TOML float " + in.text;
  return Status::InvalidArgument(std::string(o.toml) + " (" + in.source + "): expected " +
                                 std::string(expected) + ", got " + got);
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Only scalar text is acceptable where a scalar is due (a TOML array or table is not).
bool IsScalarText(const Input& in) {
  return in.type == Input::Type::kText || in.type == Input::Type::kInteger ||
         in.type == Input::Type::kBoolean;
}

std::optional<uint64_t> ParseUnsigned(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// ---- typed option builders ----

template <typename T>
Option IntOption(std::string_view toml, std::string_view flag, std::string_view env,
                 std::string_view help, std::function<T&(Config&)> field, int64_t min,
                 int64_t max) {
  Option o{toml, flag, env, "N", help, nullptr, nullptr};
  o.set = [o, field, min, max](Config& c, const Input& in) -> Status {
    const std::string expected =
        "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    if ((in.type != Input::Type::kText && in.type != Input::Type::kInteger) ||
        (in.from_toml && in.type != Input::Type::kInteger)) {
      return Bad(o, in, expected);
    }
    std::string_view s = in.text;
    const bool negative = !s.empty() && s[0] == '-';
    if (negative) s.remove_prefix(1);
    const auto magnitude = ParseUnsigned(s);
    if (!magnitude || *magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Bad(o, in, expected);
    }
    const int64_t v =
        negative ? -static_cast<int64_t>(*magnitude) : static_cast<int64_t>(*magnitude);
    if (v < min || v > max) return Bad(o, in, expected);
    field(c) = static_cast<T>(v);
    return Status::Ok();
  };
  o.show = [field](const Config& c) {
    Config copy = c;  // the accessor is shared with the setter, so it wants a mutable Config
    return std::to_string(field(copy));
  };
  return o;
}

Option BoolOption(std::string_view toml, std::string_view flag, std::string_view env,
                  std::string_view help, std::function<bool&(Config&)> field) {
  Option o{toml, flag, env, "", help, nullptr, nullptr};
  o.set = [o, field](Config& c, const Input& in) -> Status {
    if (!IsScalarText(in) || in.type == Input::Type::kInteger ||
        (in.from_toml && in.type != Input::Type::kBoolean)) {
      return Bad(o, in, "true or false");
    }
    const std::string v = ToLower(in.text);
    if (v == "true" || v == "1" || v == "yes") {
      field(c) = true;
    } else if (v == "false" || v == "0" || v == "no") {
      field(c) = false;
    } else {
      return Bad(o, in, "true or false");
    }
    return Status::Ok();
  };
  o.show = [field](const Config& c) {
    Config copy = c;
    return std::string(field(copy) ? "true" : "false");
  };
  return o;
}

Option StringOption(std::string_view toml, std::string_view flag, std::string_view env,
                    std::string_view value_name, std::string_view help,
                    std::function<std::string&(Config&)> field, bool allow_empty) {
  Option o{toml, flag, env, value_name, help, nullptr, nullptr};
  o.set = [o, field, allow_empty](Config& c, const Input& in) -> Status {
    if (in.type != Input::Type::kText) return Bad(o, in, "a string");
    if (!allow_empty && in.text.empty()) return Bad(o, in, "a non-empty string");
    field(c) = in.text;
    return Status::Ok();
  };
  o.show = [field](const Config& c) {
    Config copy = c;
    const std::string& v = field(copy);
    return v.empty() ? std::string("(none)") : v;
  };
  return o;
}

// "500ms", "10s", "5m", "2h", "3d" -> milliseconds. Durations always carry a unit.
std::optional<milliseconds> ParseDuration(std::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  const auto n = ParseUnsigned(s.substr(0, digits));
  if (!n) return std::nullopt;
  const std::string_view unit = s.substr(digits);
  uint64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1'000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else if (unit == "d") {
    scale = 86'400'000;
  } else {
    return std::nullopt;
  }
  if (*n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / scale) return std::nullopt;
  return milliseconds(static_cast<int64_t>(*n * scale));
}

std::string ShowDuration(milliseconds d) {
  const int64_t ms = d.count();
  if (ms != 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1'000 == 0) return std::to_string(ms / 1'000) + "s";
  return std::to_string(ms) + "ms";
}

Option DurationOption(std::string_view toml, std::string_view flag, std::string_view env,
                      std::string_view help, std::function<milliseconds&(Config&)> field,
                      milliseconds min, milliseconds max) {
  Option o{toml, flag, env, "DURATION", help, nullptr, nullptr};
  o.set = [o, field, min, max](Config& c, const Input& in) -> Status {
    const std::string expected = "a duration in [" + ShowDuration(min) + ", " + ShowDuration(max) +
                                 "] with a unit (ms, s, m, h, d)";
    if (in.type != Input::Type::kText) return Bad(o, in, expected);
    const auto d = ParseDuration(TrimSpaces(in.text));
    if (!d || *d < min || *d > max) return Bad(o, in, expected);
    field(c) = *d;
    return Status::Ok();
  };
  o.show = [field](const Config& c) {
    Config copy = c;
    return ShowDuration(field(copy));
  };
  return o;
}

// "65536", "64KiB", "64MiB", "1GiB", "2TiB" (a TOML integer counts bytes).
std::optional<uint64_t> ParseBytes(std::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  const auto n = ParseUnsigned(s.substr(0, digits));
  if (!n) return std::nullopt;
  const std::string_view unit = TrimSpaces(s.substr(digits));
  int shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "KiB") {
    shift = 10;
  } else if (unit == "MiB") {
    shift = 20;
  } else if (unit == "GiB") {
    shift = 30;
  } else if (unit == "TiB") {
    shift = 40;
  } else {
    return std::nullopt;
  }
  if (*n > (std::numeric_limits<uint64_t>::max() >> shift)) return std::nullopt;
  return *n << shift;
}

std::string ShowBytes(uint64_t b) {
  static constexpr std::pair<int, const char*> kUnits[] = {
      {40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}};
  for (const auto& [shift, name] : kUnits) {
    if (b != 0 && b % (uint64_t{1} << shift) == 0) return std::to_string(b >> shift) + name;
  }
  return std::to_string(b);
}

template <typename T>
Option BytesOption(std::string_view toml, std::string_view flag, std::string_view env,
                   std::string_view help, std::function<T&(Config&)> field, uint64_t min,
                   uint64_t max) {
  Option o{toml, flag, env, "BYTES", help, nullptr, nullptr};
  o.set = [o, field, min, max](Config& c, const Input& in) -> Status {
    const std::string expected = "a size in [" + ShowBytes(min) + ", " + ShowBytes(max) +
                                 "] (bytes, or with KiB, MiB, GiB, TiB)";
    if (in.type != Input::Type::kText && in.type != Input::Type::kInteger) {
      return Bad(o, in, expected);
    }
    const auto b = ParseBytes(TrimSpaces(in.text));
    if (!b || *b < min || *b > max) return Bad(o, in, expected);
    field(c) = static_cast<T>(*b);
    return Status::Ok();
  };
  o.show = [field](const Config& c) {
    Config copy = c;
    return ShowBytes(field(copy));
  };
  return o;
}

// Decimal settings stay text; they are validated exactly here (no float) and parsed again,
// exactly, by the module that uses them.
Option DecimalOption(std::string_view toml, std::string_view flag, std::string_view env,
                     std::string_view help, std::function<std::string&(Config&)> field,
                     std::optional<int64_t> max_units) {
  Option o{toml, flag, env, "DECIMAL", help, nullptr, nullptr};
  o.set = [o, field, max_units](Config& c, const Input& in) -> Status {
    const std::string expected = (max_units ? "a decimal in [0, " + std::to_string(*max_units) + "]"
                                            : std::string("a decimal >= 0")) +
                                 " with at most 9 fractional digits, written as a string";
    if (in.type != Input::Type::kText && in.type != Input::Type::kInteger) {
      return Bad(o, in, expected);
    }
    rating::Decimal d;
    if (rating::Decimal::Parse(in.text, &d) != rating::DecimalError::kOk || d.IsNegative() ||
        (max_units && d > rating::Decimal::FromInteger(*max_units))) {
      return Bad(o, in, expected);
    }
    field(c) = in.text;
    return Status::Ok();
  };
  o.show = [field](const Config& c) {
    Config copy = c;
    return field(copy);
  };
  return o;
}

Option ListenOption() {
  Option o{"server.listen",
           "listen",
           "METERD_LISTEN",
           "HOST:PORT",
           "Address to serve HTTP on; port 0 binds a free port (see --port-file). IPv6 in "
           "brackets: [::1]:8787.",
           nullptr,
           nullptr};
  o.set = [o](Config& c, const Input& in) -> Status {
    static constexpr std::string_view kExpected = "HOST:PORT with PORT in [0, 65535]";
    if (in.type != Input::Type::kText) return Bad(o, in, kExpected);
    std::string_view s = in.text;
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return Bad(o, in, kExpected);
    std::string_view host = s.substr(0, colon);
    const auto port = ParseUnsigned(s.substr(colon + 1));
    if (!port || *port > 65535) return Bad(o, in, kExpected);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
      return Bad(o, in, "HOST:PORT (an IPv6 host goes in brackets)");
    }
    if (host.empty()) return Bad(o, in, kExpected);
    c.server.listen_host = std::string(host);
    c.server.listen_port = static_cast<uint16_t>(*port);
    return Status::Ok();
  };
  o.show = [](const Config& c) {
    const bool v6 = c.server.listen_host.find(':') != std::string::npos;
    return (v6 ? "[" + c.server.listen_host + "]" : c.server.listen_host) + ":" +
           std::to_string(c.server.listen_port);
  };
  return o;
}

Option FixedClockOption() {
  Option o{"fixed_clock",
           "fixed-clock",
           "METERD_FIXED_CLOCK",
           "RFC3339",
           "Freeze the daemon's clock at this instant (tests, replays of past data): \"now\" "
           "drives the current month, forecasts and too_old.",
           nullptr,
           nullptr};
  o.set = [o](Config& c, const Input& in) -> Status {
    if (in.type != Input::Type::kText) return Bad(o, in, "an RFC 3339 timestamp as a string");
    if (in.text.empty()) {
      c.fixed_clock.reset();
      return Status::Ok();
    }
    rating::Timestamp t;
    if (!rating::ParseRfc3339(in.text, &t)) {
      return Bad(o, in, "an RFC 3339 timestamp such as 2026-11-20T13:05:00Z");
    }
    c.fixed_clock = t;
    return Status::Ok();
  };
  o.show = [](const Config& c) {
    return c.fixed_clock ? rating::FormatRfc3339(*c.fixed_clock)
                         : std::string("(none: system clock)");
  };
  return o;
}

Option SyncModeOption() {
  Option o{"storage.sync_mode",
           "sync-mode",
           "METERD_SYNC_MODE",
           "MODE",
           "full: fsync every commit (an acknowledged event survives power loss); nometasync: "
           "skip the meta-page fsync (survives a crash of meterd, may lose the last commit on "
           "power loss); nosync: no fsync (benchmarks only).",
           nullptr,
           nullptr};
  o.set = [o](Config& c, const Input& in) -> Status {
    static constexpr std::string_view kExpected = "one of full, nometasync, nosync";
    if (in.type != Input::Type::kText) return Bad(o, in, kExpected);
    const std::string v = ToLower(in.text);
    if (v == "full") {
      c.storage.sync_mode = SyncMode::kFull;
    } else if (v == "nometasync") {
      c.storage.sync_mode = SyncMode::kNoMetaSync;
    } else if (v == "nosync") {
      c.storage.sync_mode = SyncMode::kNoSync;
    } else {
      return Bad(o, in, kExpected);
    }
    return Status::Ok();
  };
  o.show = [](const Config& c) { return std::string(ToString(c.storage.sync_mode)); };
  return o;
}

Option LogLevelOption() {
  Option o{"log.level",
           "log-level",
           "METERD_LOG_LEVEL",
           "LEVEL",
           "Least severe level logged: debug, info, warning, error.",
           nullptr,
           nullptr};
  o.set = [o](Config& c, const Input& in) -> Status {
    static constexpr std::string_view kExpected = "one of debug, info, warning, error";
    if (in.type != Input::Type::kText) return Bad(o, in, kExpected);
    const std::string v = ToLower(in.text);
    if (v == "debug") {
      c.log.level = LogLevel::kDebug;
    } else if (v == "info") {
      c.log.level = LogLevel::kInfo;
    } else if (v == "warning" || v == "warn") {
      c.log.level = LogLevel::kWarning;
    } else if (v == "error") {
      c.log.level = LogLevel::kError;
    } else {
      return Bad(o, in, kExpected);
    }
    return Status::Ok();
  };
  o.show = [](const Config& c) { return std::string(ToString(c.log.level)); };
  return o;
}

Option RolesOption() {
  Option o{"rating.eligible_roles",
           "eligible-roles",
           "METERD_ELIGIBLE_ROLES",
           "ROLE,...",
           "Grant roles that earn PEC (domain §4.3), compared case-insensitively. TOML: an "
           "array of strings; flag and environment: comma-separated.",
           nullptr,
           nullptr};
  o.set = [o](Config& c, const Input& in) -> Status {
    static constexpr std::string_view kExpected = "a non-empty list of role names";
    std::vector<std::string> items;
    if (in.type == Input::Type::kList) {
      items = in.list;
    } else if (in.type == Input::Type::kText) {
      std::string_view s = in.text;
      while (true) {
        const size_t comma = s.find(',');
        items.emplace_back(s.substr(0, comma));
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
      }
    } else {
      return Bad(o, in, kExpected);
    }
    std::vector<std::string> roles;
    for (const std::string& item : items) {
      const std::string_view role = TrimSpaces(item);
      if (role.empty()) return Bad(o, in, kExpected);
      roles.push_back(ToLower(role));
    }
    if (roles.empty()) return Bad(o, in, kExpected);
    std::sort(roles.begin(), roles.end());
    roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
    c.rating.eligible_roles = std::move(roles);
    return Status::Ok();
  };
  o.show = [](const Config& c) {
    std::string out;
    for (const auto& r : c.rating.eligible_roles) out += (out.empty() ? "" : ",") + r;
    return out;
  };
  return o;
}

const std::vector<Option>& Options() {
  static const std::vector<Option> kOptions = [] {
    using ms = milliseconds;
    std::vector<Option> v;
    // [server]
    v.push_back(ListenOption());
    v.push_back(StringOption(
        "server.port_file", "port-file", "METERD_PORT_FILE", "PATH",
        "After binding, write the bound port here (atomically); lets a "
        "supervisor find a port chosen with --listen HOST:0.",
        [](Config& c) -> std::string& { return c.server.port_file; }, true));
    v.push_back(IntOption<int>(
        "server.io_threads", "io-threads", "METERD_IO_THREADS",
        "Threads running the HTTP I/O loop.", [](Config& c) -> int& { return c.server.io_threads; },
        1, 256));
    v.push_back(BoolOption(
        "server.io_realtime", "io-realtime", "METERD_IO_REALTIME",
        "Run the HTTP I/O threads as real-time threads (SCHED_FIFO, priority 1) so reads are "
        "answered at once on a machine saturated by ingest; needs LimitRTPRIO=1 or "
        "CAP_SYS_NICE, else a warning and normal threads.",
        [](Config& c) -> bool& { return c.server.io_realtime; }));
    v.push_back(IntOption<int>(
        "server.max_connections", "max-connections", "METERD_MAX_CONNECTIONS",
        "Open connections at most; beyond it a new connection gets 503 "
        "and is closed.",
        [](Config& c) -> int& { return c.server.max_connections; }, 1, 1'000'000));
    v.push_back(IntOption<int>(
        "server.max_pipelined", "max-pipelined", "METERD_MAX_PIPELINED",
        "Responses queued per connection before the server stops reading "
        "pipelined requests.",
        [](Config& c) -> int& { return c.server.max_pipelined; }, 1, 1024));
    v.push_back(BytesOption<size_t>(
        "server.max_header_bytes", "max-header-bytes", "METERD_MAX_HEADER_BYTES",
        "Request line plus headers at most; beyond: 431.",
        [](Config& c) -> size_t& { return c.server.max_header_bytes; }, 1024, 1 << 20));
    v.push_back(BytesOption<size_t>(
        "server.max_body_bytes", "max-body-bytes", "METERD_MAX_BODY_BYTES",
        "Request body limit of ordinary routes; beyond: 413.",
        [](Config& c) -> size_t& { return c.server.max_body_bytes; }, 1024, size_t{1} << 30));
    v.push_back(BytesOption<size_t>(
        "server.max_bulk_body_bytes", "max-bulk-body-bytes", "METERD_MAX_BULK_BODY_BYTES",
        "Request body limit of POST /v1/usage and bulk loads; beyond: 413.",
        [](Config& c) -> size_t& { return c.server.max_bulk_body_bytes; }, 1024, size_t{4} << 30));
    v.push_back(DurationOption(
        "server.header_timeout", "header-timeout", "METERD_HEADER_TIMEOUT",
        "From a request's first byte to the end of its headers; a slower "
        "client is disconnected.",
        [](Config& c) -> ms& { return c.server.header_timeout; }, ms(10), ms(3'600'000)));
    v.push_back(DurationOption(
        "server.body_timeout", "body-timeout", "METERD_BODY_TIMEOUT",
        "From the end of the headers to the end of the body.",
        [](Config& c) -> ms& { return c.server.body_timeout; }, ms(10), ms(3'600'000)));
    v.push_back(DurationOption(
        "server.write_timeout", "write-timeout", "METERD_WRITE_TIMEOUT",
        "Writing one whole response.", [](Config& c) -> ms& { return c.server.write_timeout; },
        ms(10), ms(3'600'000)));
    v.push_back(DurationOption(
        "server.idle_timeout", "idle-timeout", "METERD_IDLE_TIMEOUT",
        "How long an idle keep-alive connection is kept open.",
        [](Config& c) -> ms& { return c.server.idle_timeout; }, ms(10), ms(3'600'000)));
    v.push_back(DurationOption(
        "server.shutdown_timeout", "shutdown-timeout", "METERD_SHUTDOWN_TIMEOUT",
        "On SIGTERM, how long in-flight requests may take to finish. "
        "Keep it below the unit's TimeoutStopSec.",
        [](Config& c) -> ms& { return c.server.shutdown_timeout; }, ms(0), ms(600'000)));
    // [storage]
    v.push_back(StringOption(
        "storage.data_dir", "data-dir", "METERD_DATA_DIR", "DIR",
        "Directory of the LMDB environment and admin.token. Under systemd "
        "the default is $STATE_DIRECTORY.",
        [](Config& c) -> std::string& { return c.storage.data_dir; }, false));
    v.push_back(SyncModeOption());
    v.push_back(BytesOption<uint64_t>(
        "storage.map_size", "map-size", "METERD_MAP_SIZE", "Initial LMDB map size.",
        [](Config& c) -> uint64_t& { return c.storage.map_size_bytes; }, uint64_t{1} << 20,
        uint64_t{1} << 50));
    v.push_back(BytesOption<uint64_t>(
        "storage.map_max", "map-max", "METERD_MAP_MAX",
        "The map grows up to this size; beyond it writes answer 503 (storage full).",
        [](Config& c) -> uint64_t& { return c.storage.map_max_bytes; }, uint64_t{1} << 20,
        uint64_t{1} << 50));
    v.push_back(BytesOption<uint64_t>(
        "storage.map_growth", "map-growth", "METERD_MAP_GROWTH",
        "How much the map grows each time it fills.",
        [](Config& c) -> uint64_t& { return c.storage.map_growth_bytes; }, uint64_t{1} << 20,
        uint64_t{1} << 44));
    v.push_back(DurationOption(
        "storage.fold_interval", "fold-interval", "METERD_FOLD_INTERVAL",
        "Under load, how often the writer starts folding a window of the write journal into "
        "the identity and line B-trees. Longer windows rewrite fewer pages per event and hold "
        "more unfolded identities in memory.",
        [](Config& c) -> ms& { return c.storage.fold_interval; }, ms(1), ms(60'000)));
    v.push_back(DurationOption(
        "storage.fold_idle_delay", "fold-idle-delay", "METERD_FOLD_IDLE_DELAY",
        "How long the writer waits without a write job before it folds the journal anyway.",
        [](Config& c) -> ms& { return c.storage.fold_idle_delay; }, ms(1), ms(60'000)));
    // [ingest]
    v.push_back(IntOption<int>(
        "ingest.workers", "workers", "METERD_WORKERS",
        "Shard workers rating usage (customers are hashed to them).",
        [](Config& c) -> int& { return c.ingest.workers; }, 1, 256));
    v.push_back(IntOption<int64_t>(
        "ingest.max_events_per_request", "max-events-per-request", "METERD_MAX_EVENTS_PER_REQUEST",
        "Usage lines accepted in one POST /v1/usage; beyond: 413.",
        [](Config& c) -> int64_t& { return c.ingest.max_events_per_request; }, 1, 100'000'000));
    v.push_back(IntOption<int>(
        "ingest.shard_queue_capacity", "shard-queue-capacity", "METERD_SHARD_QUEUE_CAPACITY",
        "Batches waiting per shard worker; when full, ingest answers 429.",
        [](Config& c) -> int& { return c.ingest.shard_queue_capacity; }, 1, 1'000'000));
    v.push_back(IntOption<int>(
        "ingest.parse_queue_capacity", "parse-queue-capacity", "METERD_PARSE_QUEUE_CAPACITY",
        "Usage bodies parsing or waiting to parse; when full, ingest answers 429.",
        [](Config& c) -> int& { return c.ingest.parse_queue_capacity; }, 1, 1'000'000));
    v.push_back(IntOption<int>(
        "ingest.writer_queue_capacity", "writer-queue-capacity", "METERD_WRITER_QUEUE_CAPACITY",
        "Batches waiting for the storage writer; when full, 429.",
        [](Config& c) -> int& { return c.ingest.writer_queue_capacity; }, 1, 1'000'000));
    v.push_back(BytesOption<uint64_t>(
        "ingest.dedupe_filter_max", "dedupe-filter-max", "METERD_DEDUPE_FILTER_MAX",
        "Most memory for the dedupe filter, which spares the store a look-up for each new "
        "event identity (16 bits per stored identity; past this it errs more often, still "
        "exact). 0 turns it off: every identity is looked up in the store.",
        [](Config& c) -> uint64_t& { return c.ingest.dedupe_filter_max_bytes; }, 0,
        uint64_t{64} << 30));
    v.push_back(IntOption<int64_t>(
        "ingest.dedupe_filter_initial_keys", "dedupe-filter-initial-keys",
        "METERD_DEDUPE_FILTER_INITIAL_KEYS",
        "Identities the first dedupe filter holds before it grows (16 bits each, taken as "
        "identities arrive). A full filter is doubled, and the time after rebuilt from the "
        "store for twice the stored identities.",
        [](Config& c) -> int64_t& { return c.ingest.dedupe_filter_initial_keys; }, 1,
        int64_t{1} << 40));
    v.push_back(DurationOption(
        "ingest.review_interval", "review-interval", "METERD_REVIEW_INTERVAL",
        "How often shard workers review budget forecasts for a new month and forget cached "
        "months older than the previous one that saw no usage since the last review.",
        [](Config& c) -> ms& { return c.ingest.review_interval; }, ms(100), ms(3'600'000)));
    // [rating]
    v.push_back(DecimalOption(
        "rating.pec_rate", "pec-rate", "METERD_PEC_RATE",
        "Partner earned credit rate of eligible usage (domain §4.3).",
        [](Config& c) -> std::string& { return c.rating.pec_rate; }, 1));
    v.push_back(RolesOption());
    v.push_back(IntOption<int>(
        "rating.dedupe_retention_days", "dedupe-retention-days", "METERD_DEDUPE_RETENTION_DAYS",
        "Event identities are kept this many days after the end of the "
        "usage month; older events are rejected as too_old.",
        [](Config& c) -> int& { return c.rating.dedupe_retention_days; }, 1, 3650));
    // [webhooks]
    v.push_back(BoolOption("webhooks.allow_private", "webhook-allow-private",
                           "METERD_WEBHOOK_ALLOW_PRIVATE",
                           "Let webhooks target loopback, private and link-local addresses "
                           "(refused by default; for tests and closed networks).",
                           [](Config& c) -> bool& { return c.webhooks.allow_private; }));
    v.push_back(DurationOption(
        "webhooks.timeout", "webhook-timeout", "METERD_WEBHOOK_TIMEOUT",
        "One delivery attempt, connect to response.",
        [](Config& c) -> ms& { return c.webhooks.timeout; }, ms(100), ms(300'000)));
    v.push_back(DurationOption(
        "webhooks.retry_initial", "webhook-retry-initial", "METERD_WEBHOOK_RETRY_INITIAL",
        "First retry delay; doubles per attempt up to webhook-retry-max.",
        [](Config& c) -> ms& { return c.webhooks.retry_initial; }, ms(10), ms(86'400'000)));
    v.push_back(DurationOption(
        "webhooks.retry_max", "webhook-retry-max", "METERD_WEBHOOK_RETRY_MAX",
        "Longest delay between retries.", [](Config& c) -> ms& { return c.webhooks.retry_max; },
        ms(10), ms(86'400'000)));
    v.push_back(DurationOption(
        "webhooks.give_up_after", "webhook-give-up-after", "METERD_WEBHOOK_GIVE_UP_AFTER",
        "Stop retrying a delivery this long after its first attempt.",
        [](Config& c) -> ms& { return c.webhooks.give_up_after; }, ms(1'000),
        ms(30LL * 86'400'000)));
    v.push_back(IntOption<int>(
        "webhooks.queue_capacity", "webhook-queue-capacity", "METERD_WEBHOOK_QUEUE_CAPACITY",
        "Deliveries waiting in memory; the rest wait in storage.",
        [](Config& c) -> int& { return c.webhooks.queue_capacity; }, 1, 10'000'000));
    // [anomaly] (rule and defaults: docs/alerts.md)
    v.push_back(BoolOption("anomaly.enabled", "anomaly-enabled", "METERD_ANOMALY_ENABLED",
                           "Raise anomaly alerts for a day's spend far above the customer's own "
                           "recent days (docs/alerts.md).",
                           [](Config& c) -> bool& { return c.anomaly.enabled; }));
    v.push_back(IntOption<int>(
        "anomaly.window_days", "anomaly-window-days", "METERD_ANOMALY_WINDOW_DAYS",
        "Complete days before the judged day that form its history.",
        [](Config& c) -> int& { return c.anomaly.window_days; }, 1,
        rating::kMaxAnomalyWindowDays));
    v.push_back(IntOption<int>(
        "anomaly.min_history_days", "anomaly-min-history-days", "METERD_ANOMALY_MIN_HISTORY_DAYS",
        "Days of history (since the customer's first usage) needed before a day can be "
        "anomalous; at most anomaly.window_days.",
        [](Config& c) -> int& { return c.anomaly.min_history_days; }, 1,
        rating::kMaxAnomalyWindowDays));
    v.push_back(DecimalOption(
        "anomaly.min_score", "anomaly-min-score", "METERD_ANOMALY_MIN_SCORE",
        "Robust z-score needed: (day - median) / (1.4826 x MAD) of the history.",
        [](Config& c) -> std::string& { return c.anomaly.min_score; }, std::nullopt));
    v.push_back(DecimalOption(
        "anomaly.floor_amount", "anomaly-floor-amount", "METERD_ANOMALY_FLOOR_AMOUNT",
        "A day's list spend below this (billing-currency units) never raises an anomaly.",
        [](Config& c) -> std::string& { return c.anomaly.floor_amount; }, std::nullopt));
    v.push_back(DecimalOption(
        "anomaly.min_ratio", "anomaly-min-ratio", "METERD_ANOMALY_MIN_RATIO",
        "A day's spend must also be at least this multiple of the history's median.",
        [](Config& c) -> std::string& { return c.anomaly.min_ratio; }, std::nullopt));
    // [log] and top level
    v.push_back(LogLevelOption());
    v.push_back(FixedClockOption());
    return v;
  }();
  return kOptions;
}

const Option* FindBy(std::string_view Option::*key, std::string_view value) {
  for (const Option& o : Options()) {
    if (o.*key == value) return &o;
  }
  return nullptr;
}

// ---- sources ----

Status CrossCheck(const Config& c) {
  if (c.server.max_body_bytes > c.server.max_bulk_body_bytes) {
    return Status::InvalidArgument("server.max_body_bytes (" + ShowBytes(c.server.max_body_bytes) +
                                   ") exceeds server.max_bulk_body_bytes (" +
                                   ShowBytes(c.server.max_bulk_body_bytes) + ")");
  }
  if (c.storage.map_size_bytes > c.storage.map_max_bytes) {
    return Status::InvalidArgument("storage.map_size (" + ShowBytes(c.storage.map_size_bytes) +
                                   ") exceeds storage.map_max (" +
                                   ShowBytes(c.storage.map_max_bytes) + ")");
  }
  if (c.webhooks.retry_initial > c.webhooks.retry_max) {
    return Status::InvalidArgument(
        "webhooks.retry_initial (" + ShowDuration(c.webhooks.retry_initial) +
        ") exceeds webhooks.retry_max (" + ShowDuration(c.webhooks.retry_max) + ")");
  }
  if (c.anomaly.min_history_days > c.anomaly.window_days) {
    return Status::InvalidArgument(
        "anomaly.min_history_days (" + std::to_string(c.anomaly.min_history_days) +
        ") exceeds anomaly.window_days (" + std::to_string(c.anomaly.window_days) + ")");
  }
  if (Result<rating::AnomalyParams> p = AnomalyParamsOf(c.anomaly); !p.ok()) return p.status();
  return Status::Ok();
}

std::string OneLine(std::string s) {
  for (char& ch : s) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return s;
}

Input InputFromToml(const toml::node& node, const std::string& source) {
  Input in;
  in.source = source;
  in.from_toml = true;
  switch (node.type()) {
    case toml::node_type::string:
      in.type = Input::Type::kText;
      in.text = std::string(node.as_string()->get());
      break;
    case toml::node_type::integer:
      in.type = Input::Type::kInteger;
      in.text = std::to_string(node.as_integer()->get());
      break;
    case toml::node_type::boolean:
      in.type = Input::Type::kBoolean;
      in.text = node.as_boolean()->get() ? "true" : "false";
      break;
    case toml::node_type::floating_point:
      // Reported, never converted: a binary float cannot carry an exact decimal setting.
      in.type = Input::Type::kFloat;
      in.text = "(write decimals as strings, e.g. \"0.15\")";
      break;
    case toml::node_type::array: {
      in.type = Input::Type::kList;
      for (const toml::node& item : *node.as_array()) {
        if (!item.is_string()) {
          in.type = Input::Type::kOther;
          break;
        }
        in.list.emplace_back(item.as_string()->get());
      }
      break;
    }
    default:
      in.type = Input::Type::kOther;
      break;
  }
  return in;
}

Status ApplyToml(const std::string& path, Config& c) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Status::InvalidArgument(OneLine(
        "cannot read config file " + path +
        (where.line > 0 ? ":" + std::to_string(where.line) + ":" + std::to_string(where.column)
                        : std::string()) +
        ": " + std::string(e.description())));
  }
  for (auto&& [key, node] : root) {
    const std::string section(key.str());
    if (const toml::table* table = node.as_table()) {
      for (auto&& [sub, value] : *table) {
        const std::string name = section + "." + std::string(sub.str());
        const std::string source = path + ":" + std::to_string(value.source().begin.line);
        const Option* o = FindBy(&Option::toml, name);
        if (o == nullptr) {
          return Status::InvalidArgument("unknown setting " + name + " (" + source + ")");
        }
        METERD_RETURN_IF_ERROR(o->set(c, InputFromToml(value, source)));
      }
      continue;
    }
    const std::string source = path + ":" + std::to_string(node.source().begin.line);
    const Option* o = FindBy(&Option::toml, section);
    if (o == nullptr) {
      return Status::InvalidArgument("unknown setting " + section + " (" + source + ")");
    }
    METERD_RETURN_IF_ERROR(o->set(c, InputFromToml(node, source)));
  }
  return Status::Ok();
}

struct FlagValue {
  const Option* option;
  Input input;
};

// Appends `text` word-wrapped at 80 columns, each line indented by six spaces.
void AppendWrapped(std::string_view text, std::string* out) {
  constexpr size_t kWidth = 80;
  constexpr std::string_view kIndent = "      ";
  size_t column = 0;
  while (!text.empty()) {
    const size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (word.empty()) continue;
    if (column > 0 && column + 1 + word.size() > kWidth) {
      *out += '\n';
      column = 0;
    }
    if (column == 0) {
      *out += kIndent;
      column = kIndent.size();
    } else {
      *out += ' ';
      ++column;
    }
    *out += word;
    column += word.size();
  }
  *out += '\n';
}

std::string HelpLine(const Option& o, const Config& defaults) {
  std::string out = "  --" + std::string(o.flag);
  if (!o.value_name.empty()) out += " " + std::string(o.value_name);
  out += '\n';
  AppendWrapped(o.help, &out);
  AppendWrapped("default: " + o.show(defaults) + "; env: " + std::string(o.env) +
                    "; toml: " + std::string(o.toml),
                &out);
  return out;
}

}  // namespace

Result<rating::AnomalyParams> AnomalyParamsOf(const AnomalyConfig& config) {
  rating::AnomalyParams p;
  p.window_days = config.window_days;
  p.min_history_days = config.min_history_days;
  struct Field {
    const char* name;
    const std::string& text;
    rating::Decimal* out;
  };
  for (const Field& f : {Field{"anomaly.min_score", config.min_score, &p.min_score},
                         Field{"anomaly.floor_amount", config.floor_amount, &p.floor_amount},
                         Field{"anomaly.min_ratio", config.min_ratio, &p.min_ratio}}) {
    if (rating::Decimal::Parse(f.text, f.out) != rating::DecimalError::kOk) {
      return Status::InvalidArgument(std::string(f.name) + ": not a decimal: \"" + f.text + "\"");
    }
  }
  METERD_RETURN_IF_ERROR(rating::ValidateAnomalyParams(p));
  return p;
}

std::string_view ToString(SyncMode mode) {
  switch (mode) {
    case SyncMode::kFull:
      return "full";
    case SyncMode::kNoMetaSync:
      return "nometasync";
    case SyncMode::kNoSync:
      return "nosync";
  }
  return "full";
}

std::string_view ToString(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

Environment EnvironmentFromProcess() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = entry.substr(0, eq);
    if (name.starts_with("METERD_") || name == "STATE_DIRECTORY") {
      env.emplace(std::string(name), std::string(entry.substr(eq + 1)));
    }
  }
  return env;
}

std::string HelpText() {
  const Config defaults;
  std::string out =
      "Usage: meterd [OPTIONS]\n"
      "Rates Azure usage for CSP partners; serves spend, budgets and alerts over HTTP.\n\n"
      "Settings: defaults < TOML file < METERD_* environment variables < flags.\n"
      "Durations take a unit (250ms, 10s, 5m, 2h, 3d); sizes B, KiB, MiB, GiB, TiB.\n"
      "A bad setting is reported in one line; meterd then exits with status 78.\n\n"
      "  --config FILE\n      TOML configuration file ([server], [storage], [ingest], [rating],\n"
      "      [webhooks], [anomaly], [log] tables; see systemd/meterd.toml).\n"
      "      default: (none); env: METERD_CONFIG\n"
      "  --help\n      Print this help and exit.\n"
      "  --version\n      Print the version and exit.\n";
  for (const Option& o : Options()) out += HelpLine(o, defaults);
  return out;
}

std::vector<SettingChange> ChangedSettings(const Config& running, const Config& next) {
  // Compared through each option's shown value: the option table already knows every setting
  // and how to render it, so a setting added later is compared without touching this.
  std::vector<SettingChange> changes;
  for (const Option& o : Options()) {
    std::string from = o.show(running);
    std::string to = o.show(next);
    if (from != to) changes.push_back({std::string(o.toml), std::move(from), std::move(to)});
  }
  return changes;
}

Result<Invocation> LoadConfig(std::span<const std::string> args, const Environment& env) {
  Invocation inv;
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      inv.action = Invocation::Action::kPrintHelp;
      inv.text = HelpText();
      return inv;
    }
  }
  for (const std::string& a : args) {
    if (a == "--version") {
      inv.action = Invocation::Action::kPrintVersion;
      inv.text = std::string("meterd ") + METERD_VERSION + "\n";
      return inv;
    }
  }

  // Flags are parsed first (for --config) and applied last (they override everything).
  std::optional<std::string> config_file;
  std::vector<FlagValue> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!a.starts_with("--") || a.size() == 2) {
      return Status::InvalidArgument("unexpected argument \"" + a + "\" (see --help)");
    }
    std::string_view name = std::string_view(a).substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    if (name == "config") {
      if (!value) {
        if (i + 1 >= args.size()) return Status::InvalidArgument("--config needs a FILE");
        value = args[++i];
      }
      config_file = *value;
      continue;
    }
    const Option* o = FindBy(&Option::flag, name);
    if (o == nullptr) {
      return Status::InvalidArgument("unknown option --" + std::string(name) + " (see --help)");
    }
    if (!value) {
      if (o->value_name.empty()) {
        value = "true";  // a boolean flag alone switches it on
      } else {
        if (i + 1 >= args.size()) {
          return Status::InvalidArgument("--" + std::string(name) + " needs a value " +
                                         std::string(o->value_name));
        }
        value = args[++i];
      }
    }
    Input in;
    in.text = *value;
    in.source = "--" + std::string(name);
    flags.push_back({o, std::move(in)});
  }
  if (!config_file) {
    if (auto it = env.find("METERD_CONFIG"); it != env.end() && !it->second.empty()) {
      config_file = it->second;
    }
  }

  Config& c = inv.config;
  // systemd's StateDirectory= hands us our data directory; an explicit setting still wins.
  if (auto it = env.find("STATE_DIRECTORY"); it != env.end() && !it->second.empty()) {
    const std::string& dirs = it->second;
    c.storage.data_dir = dirs.substr(0, dirs.find(':'));
  }
  if (config_file) {
    c.config_file = *config_file;
    METERD_RETURN_IF_ERROR(ApplyToml(*config_file, c));
  }
  for (const auto& [name, value] : env) {
    if (!name.starts_with("METERD_") || name == "METERD_CONFIG") continue;
    const Option* o = FindBy(&Option::env, name);
    if (o == nullptr) {
      // Not fatal: the environment is shared with wrappers and test harnesses.
      inv.warnings.push_back("ignoring unknown environment variable " + name);
      continue;
    }
    Input in;
    in.text = value;
    in.source = name;
    METERD_RETURN_IF_ERROR(o->set(c, in));
  }
  for (const FlagValue& f : flags) METERD_RETURN_IF_ERROR(f.option->set(c, f.input));
  METERD_RETURN_IF_ERROR(CrossCheck(c));
  return inv;
}

Result<Invocation> LoadConfig(int argc, const char* const* argv, const Environment& env) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return LoadConfig(std::span<const std::string>(args), env);
}

std::optional<int> ReportInvocation(const Result<Invocation>& invocation, std::FILE* out,
                                    std::FILE* err) {
  if (!invocation.ok()) {
    std::fprintf(err, "meterd: config: %s\n", OneLine(invocation.status().message()).c_str());
    return kExitConfig;
  }
  switch (invocation->action) {
    case Invocation::Action::kPrintHelp:
    case Invocation::Action::kPrintVersion:
      std::fputs(invocation->text.c_str(), out);
      return 0;
    case Invocation::Action::kRun:
      break;
  }
  for (const std::string& w : invocation->warnings) {
    std::fprintf(err, "meterd: config warning: %s\n", w.c_str());
  }
  return std::nullopt;
}

}  // namespace meterd::config
