// Command-line parsing for meterctl's git-style subcommands: `--name value`, `--name=value`,
// boolean `--flag`, `-h` for `--help`, `--` ending the options. Options may come before or
// after positional words. Pure value types; thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace meterd::meterctl {

struct OptionSpec {
  std::string_view name;        // without the dashes: "month"
  std::string_view value_name;  // "YYYY-MM"; empty for a boolean flag
  std::string_view help;
  bool repeatable = false;
};

class ParsedArgs {
 public:
  const std::vector<std::string>& positionals() const { return positionals_; }
  bool Has(std::string_view name) const { return options_.count(std::string(name)) > 0; }
  // The (last) value of an option.
  std::optional<std::string> Get(std::string_view name) const;
  // Every value of a repeatable option, in order.
  std::vector<std::string> GetAll(std::string_view name) const;

 private:
  friend Result<ParsedArgs> ParseArgs(std::span<const std::string> args,
                                      std::span<const OptionSpec* const> specs);
  std::vector<std::string> positionals_;
  std::map<std::string, std::vector<std::string>, std::less<>> options_;
};

// InvalidArgument for an unknown option, a missing value, a value given to a boolean flag, or a
// non-repeatable option given twice.
Result<ParsedArgs> ParseArgs(std::span<const std::string> args,
                             std::span<const OptionSpec* const> specs);

// "  --month YYYY-MM      help" lines, aligned.
std::string FormatOptions(std::span<const OptionSpec* const> specs);

}  // namespace meterd::meterctl
