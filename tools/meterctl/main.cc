// meterctl: the operator's command-line client for meterd (docs/meterctl.md). Everything but
// argv and the process streams lives in the meterd_meterctl library so tests can drive it.
#include <iostream>
#include <string>
#include <vector>

#include "tools/meterctl/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  meterd::meterctl::Io io{std::cout, std::cerr, meterd::meterctl::ProcessEnv()};
  const int rc = meterd::meterctl::RunMeterctl(args, io);
  std::cout.flush();
  return rc;
}
