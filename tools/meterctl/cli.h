// meterctl's entry point as a function, so tests can drive it in-process: parses the command
// line, resolves settings (client_config.h), runs one subcommand and returns its exit code.
// Exit codes are a contract for operators' scripts (docs/meterctl.md). Not thread-safe: one
// call at a time per Io.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "tools/meterctl/client_config.h"

namespace meterd::meterctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitRefused = 1,      // the server said no (4xx/5xx, rejected rows) or a local operation failed
  kExitUsage = 2,        // bad command line, config or input file
  kExitUnreachable = 3,  // cannot connect, connection lost, no answer in time
  kExitDifferences = 4,  // reconcile found differences
};

struct Io {
  std::ostream& out;
  std::ostream& err;
  EnvLookup env;
};

// args excludes the program name.
int RunMeterctl(const std::vector<std::string>& args, Io& io);

}  // namespace meterd::meterctl
