// meter-loadgen: writes the synthetic feed's reference data, prints the feed, or streams it to a
// running meterd over HTTP and reports throughput and acknowledgement latency.
// See docs/loadgen.md. A thin command line over meterd_loadgen.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "rating/civil_time.h"
#include "rating/decimal.h"
#include "tools/loadgen/budget_plan.h"
#include "tools/loadgen/demo_preset.h"
#include "tools/loadgen/feed.h"
#include "tools/loadgen/http_load.h"
#include "tools/loadgen/json_scan.h"
#include "tools/loadgen/load_report.h"
#include "tools/loadgen/number_text.h"
#include "tools/loadgen/reference_files.h"
#include "tools/loadgen/world.h"

namespace meterd::loadgen {
namespace {

constexpr int kExitUsage = 64;
constexpr int kExitRunTrouble = 1;
constexpr int kExitSetupFailed = 2;

constexpr const char* kUsage = R"(usage:
  meter-loadgen reference --out DIR [world] [feed]      write reference.ndjson, pricesheet.csv,
                                                        fx.json, budgets.json, now.txt
  meter-loadgen feed [--out FILE] [--events N] [world] [feed]
                                                        print the NDJSON feed (default: one pass)
  meter-loadgen load --url http://127.0.0.1:8787 (--token T | --token-file F)
                     [--setup | --setup-from DIR] [load] [world] [feed]
                                                        stream the feed to POST /v1/usage

world:  --seed N (1)  --now RFC3339 (the clock, hour-aligned feed end; default: system time,
        or DIR/now.txt with --setup-from)  --partners N (3)  --customers N (20)
        --entitlements N per customer (2)  --resources N per entitlement (4)
        --span-days N (3, at most 35)  --markets US,NO,GB,... (US,NO,GB,JP,DE,SE,FR,DK,CA,AU)
feed:   --duplicates SHARE (0.01 or 1%: re-sent lines)  --late SHARE (0.01: events 1-3 days late)
        --emissions-per-hour K (1; auto in load mode when --events needs more)
        --id-prefix P (fresh ids for a rerun)
load:   --batch N (1000)  --connections N (4)  --rate EVENTS_PER_S (0 = as fast as acked)
        --duration SECONDS (10 unless --events; 0 = until Ctrl-C)  --events N  --json
        --request-timeout SECONDS (60)  --drain-timeout SECONDS (30)
--demo: 5 customers (US, DE, NO, GB, JP), 20 events/s on one connection until Ctrl-C, budgets
        the first 40 seconds of the feed already exceed (alerts within the first minute).
        Later flags override the preset.
)";

struct Options {
  std::string command;
  std::map<std::string, std::string> values;
  std::set<std::string> switches;
};

const std::set<std::string>& ValueOptions() {
  static const std::set<std::string> names = {"out",
                                              "seed",
                                              "now",
                                              "partners",
                                              "customers",
                                              "entitlements",
                                              "resources",
                                              "span-days",
                                              "markets",
                                              "duplicates",
                                              "late",
                                              "emissions-per-hour",
                                              "id-prefix",
                                              "url",
                                              "token",
                                              "token-file",
                                              "setup-from",
                                              "batch",
                                              "connections",
                                              "rate",
                                              "duration",
                                              "events",
                                              "request-timeout",
                                              "drain-timeout"};
  return names;
}
const std::set<std::string>& SwitchOptions() {
  static const std::set<std::string> names = {"setup", "json", "demo", "help"};
  return names;
}

Result<Options> ParseArgs(int argc, char** argv) {
  Options o;
  int i = 1;
  if (i < argc && argv[i][0] != '-') o.command = argv[i++];
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) return Status::InvalidArgument("unexpected argument " + arg);
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (SwitchOptions().count(name)) {
      if (value) return Status::InvalidArgument("--" + name + " takes no value");
      o.switches.insert(name);
    } else if (ValueOptions().count(name)) {
      if (!value) {
        if (i + 1 >= argc) return Status::InvalidArgument("--" + name + " needs a value");
        value = argv[++i];
      }
      o.values[name] = *value;
    } else {
      return Status::InvalidArgument("unknown option --" + name);
    }
  }
  return o;
}

Result<uint64_t> Count(const std::string& name, const std::string& text) {
  std::optional<uint64_t> v = JsonUint(text);
  if (!v) return Status::InvalidArgument("--" + name + ": expected a whole number, got " + text);
  return *v;
}

// "0.015", "1.5%" → parts per million, parsed exactly.
Result<uint32_t> Share(const std::string& name, std::string text) {
  bool percent = !text.empty() && text.back() == '%';
  if (percent) text.pop_back();
  rating::Decimal d;
  if (rating::Decimal::Parse(text, &d) != rating::DecimalError::kOk || d.IsNegative()) {
    return Status::InvalidArgument("--" + name + ": expected a share like 0.01 or 1%");
  }
  __int128 ppm = d.nanos() / (percent ? 100'000 : 1000);
  if (ppm > 1'000'000) return Status::InvalidArgument("--" + name + ": at most 1 (100%)");
  return static_cast<uint32_t>(ppm);
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t start = s.find_first_not_of(' ');
  return start == std::string::npos ? "" : s.substr(start);
}

// CPU time of this thread: what generation costs, whoever else shares the cores.
int64_t ThreadCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

rating::Timestamp SystemNow() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return rating::Timestamp{static_cast<int64_t>(ns)};
}

struct Plan {
  WorldOptions world;
  FeedOptions feed;
  LoadOptions load;
  BudgetPlan budgets;
  bool emissions_given = false;
  bool demo = false;
};

Status BuildPlan(const Options& o, Plan* p) {
  if (o.switches.count("demo")) {
    p->demo = true;
    ApplyDemoPreset(&p->world, &p->feed, &p->load);
  }
  const auto& v = o.values;
  auto count = [&](const char* name, auto* target) -> Status {
    auto it = v.find(name);
    if (it == v.end()) return Status::Ok();
    Result<uint64_t> n = Count(name, it->second);
    if (!n.ok()) return n.status();
    *target = static_cast<std::remove_pointer_t<decltype(target)>>(*n);
    return Status::Ok();
  };
  METERD_RETURN_IF_ERROR(count("seed", &p->world.seed));
  METERD_RETURN_IF_ERROR(count("partners", &p->world.partners));
  METERD_RETURN_IF_ERROR(count("customers", &p->world.customers));
  METERD_RETURN_IF_ERROR(count("entitlements", &p->world.entitlements_per_customer));
  METERD_RETURN_IF_ERROR(count("resources", &p->world.resources_per_entitlement));
  METERD_RETURN_IF_ERROR(count("span-days", &p->world.span_days));
  if (auto it = v.find("markets"); it != v.end()) p->world.markets = SplitComma(it->second);
  if (auto it = v.find("duplicates"); it != v.end()) {
    Result<uint32_t> s = Share("duplicates", it->second);
    if (!s.ok()) return s.status();
    p->feed.duplicate_ppm = *s;
  }
  if (auto it = v.find("late"); it != v.end()) {
    Result<uint32_t> s = Share("late", it->second);
    if (!s.ok()) return s.status();
    p->feed.late_ppm = *s;
  }
  if (v.count("emissions-per-hour")) {
    p->emissions_given = true;
    METERD_RETURN_IF_ERROR(count("emissions-per-hour", &p->feed.emissions_per_hour));
  }
  if (auto it = v.find("id-prefix"); it != v.end()) p->feed.id_prefix = it->second;
  METERD_RETURN_IF_ERROR(count("batch", &p->load.batch));
  METERD_RETURN_IF_ERROR(count("connections", &p->load.connections));
  METERD_RETURN_IF_ERROR(count("rate", &p->load.rate));
  METERD_RETURN_IF_ERROR(count("events", &p->load.max_events));
  uint64_t seconds = 0;
  if (v.count("duration")) {
    METERD_RETURN_IF_ERROR(count("duration", &seconds));
    p->load.duration_ms = static_cast<int64_t>(seconds) * 1000;
  } else if (!p->demo && p->load.max_events == 0) {
    p->load.duration_ms = 10'000;
  }
  if (v.count("request-timeout")) {
    METERD_RETURN_IF_ERROR(count("request-timeout", &seconds));
    p->load.request_timeout_ms = static_cast<int64_t>(seconds) * 1000;
  }
  if (v.count("drain-timeout")) {
    METERD_RETURN_IF_ERROR(count("drain-timeout", &seconds));
    p->load.drain_timeout_ms = static_cast<int64_t>(seconds) * 1000;
  }
  // The demo's budgets must be crossed by what 40 seconds of its feed carry.
  if (p->demo) p->budgets = DemoBudgetPlan(p->load.rate);
  return Status::Ok();
}

Status ResolveNow(const Options& o, const std::string& now_txt, Plan* p) {
  std::string text;
  if (auto it = o.values.find("now"); it != o.values.end()) {
    text = it->second;
  } else if (!Trim(now_txt).empty()) {
    text = Trim(now_txt);
  }
  if (text.empty()) {
    p->world.now = SystemNow();
    return Status::Ok();
  }
  if (!rating::ParseRfc3339(text, &p->world.now)) {
    return Status::InvalidArgument("--now: expected RFC 3339, got " + text);
  }
  return Status::Ok();
}

// Builds the world and its budgets; in load mode first picks the emissions per hour so the
// requested number of events fits into one pass over the span.
Result<World> MakeWorld(Plan* p) {
  Result<World> world = BuildWorld(p->world);
  if (!world.ok()) return world.status();
  if (!p->emissions_given) {
    uint64_t target = p->load.max_events;
    if (target == 0 && p->load.rate > 0 && p->load.duration_ms > 0) {
      target = p->load.rate * static_cast<uint64_t>(p->load.duration_ms) / 1000;
    }
    uint64_t per_hour_slot = world->streams.size() * static_cast<uint64_t>(world->hours);
    uint64_t k = (target + per_hour_slot - 1) / per_hour_slot;
    p->feed.emissions_per_hour = static_cast<int>(std::clamp<uint64_t>(k, 1, 3600));
  }
  METERD_RETURN_IF_ERROR(PlanBudgets(p->feed, p->budgets, &*world));
  return world;
}

int Fail(const Status& s, int code) {
  std::cerr << "meter-loadgen: " << s.message() << "\n";
  return code;
}

int RunReference(const Options& o, Plan* p) {
  auto out = o.values.find("out");
  if (out == o.values.end())
    return Fail(Status::InvalidArgument("reference needs --out DIR"), kExitUsage);
  if (Status s = ResolveNow(o, "", p); !s.ok()) return Fail(s, kExitUsage);
  p->load.max_events = 0;
  p->load.rate = 0;
  Result<World> world = MakeWorld(p);
  if (!world.ok()) return Fail(world.status(), kExitUsage);
  ReferenceFiles files = RenderReferenceFiles(*world);
  if (Status s = WriteReferenceFiles(files, out->second); !s.ok()) return Fail(s, kExitRunTrouble);
  std::cerr << "meter-loadgen: wrote " << world->partners.size() << " partners, "
            << world->resellers.size() << " resellers, " << world->customers.size()
            << " customers, " << world->entitlements.size() << " entitlements, "
            << world->grants.size() << " grants, " << world->budgets.size() << " budgets ("
            << world->streams.size() << " meter streams) to " << out->second << "\n";
  return 0;
}

int RunFeed(const Options& o, Plan* p) {
  if (Status s = ResolveNow(o, "", p); !s.ok()) return Fail(s, kExitUsage);
  Result<World> world = MakeWorld(p);
  if (!world.ok()) return Fail(world.status(), kExitUsage);
  Result<FeedGenerator> feed = FeedGenerator::Create(*world, p->feed);
  if (!feed.ok()) return Fail(feed.status(), kExitUsage);
  uint64_t total = p->load.max_events > 0 ? p->load.max_events : feed->events_per_cycle();
  std::FILE* out = stdout;
  auto path = o.values.find("out");
  if (path != o.values.end() && path->second != "-") {
    out = std::fopen(path->second.c_str(), "wb");
    if (out == nullptr)
      return Fail(Status::IoError("cannot write " + path->second), kExitRunTrouble);
  }
  std::string body;
  body.reserve(10'000 * 400);
  uint64_t bytes = 0;
  int64_t generate_ns = 0;
  for (uint64_t done = 0; done < total;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(10'000, total - done));
    body.clear();
    int64_t t0 = ThreadCpuNanos();
    feed->AppendBatch(n, &body);
    generate_ns += ThreadCpuNanos() - t0;
    if (std::fwrite(body.data(), 1, body.size(), out) != body.size()) {
      return Fail(Status::IoError("write failed"), kExitRunTrouble);
    }
    bytes += body.size();
    done += n;
  }
  if (out != stdout) std::fclose(out);
  const FeedCounters& c = feed->counters();
  std::cerr << "meter-loadgen: generated " << c.lines << " lines (" << bytes << " bytes; "
            << c.duplicates << " duplicates, " << c.late << " late) in " << generate_ns / 1'000'000
            << " ms of CPU: " << PerSecond(c.lines, generate_ns) << " lines/s, "
            << PerSecond(bytes, generate_ns) / 1'000'000 << " MB/s\n";
  return 0;
}

Result<std::string> ReadToken(const Options& o) {
  if (auto it = o.values.find("token"); it != o.values.end()) return it->second;
  if (auto it = o.values.find("token-file"); it != o.values.end()) {
    std::ifstream f(it->second);
    if (!f) return Status::IoError("cannot read " + it->second);
    std::stringstream s;
    s << f.rdbuf();
    return Trim(s.str());
  }
  if (const char* env = std::getenv("METERD_TOKEN"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  return Status::InvalidArgument("load needs --token, --token-file or METERD_TOKEN");
}

int RunLoadCommand(const Options& o, Plan* p) {
  auto url = o.values.find("url");
  Result<HttpEndpoint> endpoint =
      ParseHttpUrl(url == o.values.end() ? "http://127.0.0.1:8787" : url->second);
  if (!endpoint.ok()) return Fail(endpoint.status(), kExitUsage);
  Result<std::string> token = ReadToken(o);
  if (!token.ok()) return Fail(token.status(), kExitUsage);

  std::optional<ReferenceFiles> setup_files;
  if (auto dir = o.values.find("setup-from"); dir != o.values.end()) {
    Result<ReferenceFiles> files = ReadReferenceFiles(dir->second);
    if (!files.ok()) return Fail(files.status(), kExitUsage);
    setup_files = std::move(*files);
  }
  if (Status s = ResolveNow(o, setup_files ? setup_files->now_txt : "", p); !s.ok()) {
    return Fail(s, kExitUsage);
  }
  Result<World> world = MakeWorld(p);
  if (!world.ok()) return Fail(world.status(), kExitUsage);
  if (o.switches.count("setup") && !setup_files) setup_files = RenderReferenceFiles(*world);

  if (setup_files) {
    Result<SetupReport> setup = RunSetup(*endpoint, *token, *setup_files);
    if (!setup.ok()) return Fail(setup.status(), kExitSetupFailed);
    std::cerr << "meter-loadgen: setup: " << setup->reference_upserted << " reference objects ("
              << setup->reference_rejected << " rejected), " << setup->prices_upserted
              << " price rows (" << setup->prices_rejected << " rejected), " << setup->fx_months
              << " FX months, " << setup->budgets << " budgets\n";
    for (const std::string& w : setup->warnings)
      std::cerr << "meter-loadgen: warning: " << w << "\n";
  }

  Result<FeedGenerator> feed = FeedGenerator::Create(*world, p->feed);
  if (!feed.ok()) return Fail(feed.status(), kExitUsage);
  p->load.endpoint = *endpoint;
  p->load.token = *token;
  p->load.handle_signals = true;
  std::cerr << "meter-loadgen: streaming " << world->streams.size() << " meter streams × "
            << world->hours << " hours × " << p->feed.emissions_per_hour << " per hour to "
            << endpoint->host << ":" << endpoint->port << " (now "
            << rating::FormatRfc3339(world->options.now) << ", rate "
            << (p->load.rate == 0 ? std::string("unlimited") : std::to_string(p->load.rate) + "/s")
            << ", " << p->load.connections << " connection(s)); Ctrl-C stops\n";
  Result<LoadReport> report = RunLoad(p->load, &*feed);
  if (!report.ok()) return Fail(report.status(), kExitRunTrouble);
  if (o.switches.count("json")) {
    std::cout << FormatLoadReportJson(*report, feed->counters());
  } else {
    std::cout << FormatLoadReportText(*report, feed->counters());
    if (feed->counters().replays > 0) {
      std::cout << "hint           the span was replayed with fresh ids (older timestamps "
                   "again); use --emissions-per-hour, --events or a bigger world for a feed "
                   "that stays in time order\n";
    }
  }
  bool trouble =
      !report->fatal.empty() || report->http_errors > 0 || report->unacknowledged_events > 0;
  return trouble ? kExitRunTrouble : 0;
}

int Main(int argc, char** argv) {
  Result<Options> options = ParseArgs(argc, argv);
  if (!options.ok()) {
    std::cerr << "meter-loadgen: " << options.status().message() << "\n" << kUsage;
    return kExitUsage;
  }
  if (options->switches.count("help") || options->command.empty() || options->command == "help") {
    std::cout << kUsage;
    return options->command.empty() && !options->switches.count("help") ? kExitUsage : 0;
  }
  Plan plan;
  if (Status s = BuildPlan(*options, &plan); !s.ok()) return Fail(s, kExitUsage);
  if (options->command == "reference") return RunReference(*options, &plan);
  if (options->command == "feed") return RunFeed(*options, &plan);
  if (options->command == "load") return RunLoadCommand(*options, &plan);
  std::cerr << "meter-loadgen: unknown command " << options->command << "\n" << kUsage;
  return kExitUsage;
}

}  // namespace
}  // namespace meterd::loadgen

int main(int argc, char** argv) { return meterd::loadgen::Main(argc, argv); }
