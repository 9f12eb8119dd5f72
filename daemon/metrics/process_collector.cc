#include "daemon/metrics/process_collector.h"

#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace meterd::metrics {
namespace {

bool ParseInt(std::string_view s, int64_t* out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool ReadFile(const char* path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// The boot instant as Unix seconds. Derived from two clocks rather than /proc/stat's btime,
// because the hardened unit (ProcSubset=pid) hides /proc/stat.
int64_t BootTimeSeconds() {
  struct timespec real {
  }, boot{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  return static_cast<int64_t>(real.tv_sec - boot.tv_sec);
}

int64_t CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  int64_t n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

prometheus::MetricFamily Gauge(const char* name, const char* help, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric m;
  m.gauge.value = value;
  f.metric.push_back(m);
  return f;
}

}  // namespace

Result<ProcessStats> ParseProcStat(std::string_view stat, int64_t ticks_per_second,
                                   int64_t page_size, int64_t boot_time_seconds) {
  // "pid (comm) state ppid ..." — comm is whatever the process named itself, so fields are
  // counted from the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) {
    return Status::Corruption("unexpected /proc/self/stat format");
  }
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n')) rest.remove_prefix(1);
    if (rest.empty()) break;
    const size_t sp = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, sp));
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
  }
  // proc(5) numbering: utime 14, stime 15, starttime 22, vsize 23, rss 24.
  if (fields.size() < 22) return Status::Corruption("short /proc/self/stat");
  int64_t utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  if (!ParseInt(fields[11], &utime) || !ParseInt(fields[12], &stime) ||
      !ParseInt(fields[19], &start) || !ParseInt(fields[20], &vsize) ||
      !ParseInt(fields[21], &rss)) {
    return Status::Corruption("unparsable /proc/self/stat");
  }
  ProcessStats s;
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks_per_second);
  s.virtual_bytes = vsize;
  s.resident_bytes = rss * page_size;
  s.start_time_seconds = static_cast<double>(boot_time_seconds) +
                         static_cast<double>(start) / static_cast<double>(ticks_per_second);
  return s;
}

bool ParseProcStatusRss(std::string_view status, int64_t* anon_bytes, int64_t* file_bytes) {
  bool have_anon = false, have_file = false;
  while (!status.empty()) {
    const size_t eol = status.find('\n');
    std::string_view line = status.substr(0, eol);
    status = eol == std::string_view::npos ? std::string_view() : status.substr(eol + 1);
    // "Name:<blanks><digits> kB"
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    int64_t* out = name == "RssAnon" ? anon_bytes : name == "RssFile" ? file_bytes : nullptr;
    if (out == nullptr) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    int64_t kib = 0;
    if (!ParseInt(value.substr(0, value.find_first_not_of("0123456789")), &kib)) return false;
    *out = kib * 1024;
    (out == anon_bytes ? have_anon : have_file) = true;
  }
  return have_anon && have_file;
}

HeapStats ReadHeapStats() {
  const struct mallinfo2 mi = mallinfo2();
  HeapStats h;
  // Chunks in use in the arenas plus the large blocks malloc mmapped on their own.
  h.in_use_bytes = static_cast<int64_t>(mi.uordblks + mi.hblkhd);
  h.held_bytes = static_cast<int64_t>(mi.arena + mi.hblkhd);
  return h;
}

Result<ProcessStats> ReadProcessStats() {
  std::string stat;
  if (!ReadFile("/proc/self/stat", &stat)) return Status::IoError("cannot read /proc/self/stat");
  auto parsed = ParseProcStat(stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), BootTimeSeconds());
  if (!parsed.ok()) return parsed;
  parsed->open_fds = CountOpenFds();
  std::string status;
  if (ReadFile("/proc/self/status", &status)) {
    ParseProcStatusRss(status, &parsed->resident_anon_bytes, &parsed->resident_file_bytes);
  }
  struct rlimit lim {};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    parsed->max_fds = static_cast<int64_t>(lim.rlim_cur);
  }
  return parsed;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  const auto stats = ReadProcessStats();
  if (!stats.ok()) return {};
  std::vector<prometheus::MetricFamily> out;
  prometheus::MetricFamily cpu;
  cpu.name = "meterd_process_cpu_seconds_total";
  cpu.help = "User and system CPU time spent, in seconds";
  cpu.type = prometheus::MetricType::Counter;
  prometheus::ClientMetric m;
  m.counter.value = stats->cpu_seconds;
  cpu.metric.push_back(m);
  out.push_back(std::move(cpu));
  out.push_back(Gauge("meterd_process_resident_memory_bytes", "Resident memory size in bytes",
                      static_cast<double>(stats->resident_bytes)));
  {
    prometheus::MetricFamily f;
    f.name = "meterd_process_resident_memory_split_bytes";
    f.help = "Resident memory by kind: anon (heap, stacks, LMDB dirty pages) and file (the mapped store)";
    f.type = prometheus::MetricType::Gauge;
    for (auto [kind, value] : {std::pair{"anon", stats->resident_anon_bytes},
                               std::pair{"file", stats->resident_file_bytes}}) {
      prometheus::ClientMetric m;
      m.label.push_back({"kind", kind});
      m.gauge.value = static_cast<double>(value);
      f.metric.push_back(std::move(m));
    }
    out.push_back(std::move(f));
  }
  {
    const HeapStats heap = ReadHeapStats();
    prometheus::MetricFamily f;
    f.name = "meterd_process_heap_bytes";
    f.help = "malloc heap: in_use (allocated) and held (taken from the kernel, in use or kept free)";
    f.type = prometheus::MetricType::Gauge;
    for (auto [kind, value] : {std::pair{"in_use", heap.in_use_bytes},
                               std::pair{"held", heap.held_bytes}}) {
      prometheus::ClientMetric m;
      m.label.push_back({"kind", kind});
      m.gauge.value = static_cast<double>(value);
      f.metric.push_back(std::move(m));
    }
    out.push_back(std::move(f));
  }
  out.push_back(Gauge("meterd_process_virtual_memory_bytes", "Virtual memory size in bytes",
                      static_cast<double>(stats->virtual_bytes)));
  out.push_back(Gauge("meterd_process_open_fds", "Open file descriptors",
                      static_cast<double>(stats->open_fds)));
  out.push_back(Gauge("meterd_process_max_fds", "Maximum number of open file descriptors",
                      static_cast<double>(stats->max_fds)));
  out.push_back(Gauge("meterd_process_start_time_seconds",
                      "Start time of the process since the Unix epoch, in seconds",
                      stats->start_time_seconds));
  return out;
}

}  // namespace meterd::metrics
