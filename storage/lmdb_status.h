// Internal to storage/: how LMDB and errno results become Status values. Environment trouble
// (map full, disk full) is ResourceExhausted so the daemon answers 503 and backs off.
// Stateless; thread-safe.
#pragma once

#include <string>

#include "common/status.h"

namespace meterd::storage {

Status LmdbStatus(int rc, const std::string& context);
Status ErrnoStatus(int err, const std::string& context);

// True for results that mean "no space" (map or disk), which a growth or an operator can fix.
bool IsNoSpace(int rc);

}  // namespace meterd::storage
