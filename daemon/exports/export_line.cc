#include "daemon/exports/export_line.h"

namespace meterd::exports {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

namespace {

// The next non-empty '/'-separated segment at or after *pos; empty at the end.
std::string_view NextSegment(std::string_view s, size_t* pos) {
  while (*pos < s.size() && s[*pos] == '/') ++*pos;
  size_t start = *pos;
  while (*pos < s.size() && s[*pos] != '/') ++*pos;
  return s.substr(start, *pos - start);
}

}  // namespace

std::string_view ResourceGroupOf(std::string_view resource_uri) {
  size_t pos = 0;
  for (std::string_view seg = NextSegment(resource_uri, &pos); !seg.empty();
       seg = NextSegment(resource_uri, &pos)) {
    if (EqualsIgnoreCase(seg, "resourcegroups")) return NextSegment(resource_uri, &pos);
  }
  return {};
}

}  // namespace meterd::exports
