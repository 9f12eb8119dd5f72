#include "daemon/http/body.h"

#include <simdjson.h>

namespace meterd::http {

static_assert(kBodyPadding >= simdjson::SIMDJSON_PADDING,
              "request bodies must carry simdjson's padding for in-place parsing");

void EnsureBodyPadding(std::string& s) {
  if (s.capacity() - s.size() < kBodyPadding) s.reserve(s.size() + kBodyPadding);
}

}  // namespace meterd::http
