// Just enough JSON for the client side of the contract: split a top-level object into its
// members with the exact text of each value (so fx.json and budgets.json go to the daemon
// byte for byte, decimals untouched), and read the small integers of the daemon's answers.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace meterd::loadgen {

struct JsonMember {
  std::string key;         // decoded (\uXXXX beyond ASCII is kept as its escape)
  std::string_view value;  // the value's exact text, a view into the input
};

// InvalidArgument unless `json` is one well-formed object (surrounding whitespace allowed).
Result<std::vector<JsonMember>> TopLevelMembers(std::string_view json);

// The value of `key` in a member list, or nullopt.
std::optional<std::string_view> FindMember(const std::vector<JsonMember>& members,
                                           std::string_view key);

// A non-negative JSON integer (no sign, fraction or exponent), or nullopt.
std::optional<uint64_t> JsonUint(std::string_view raw);

}  // namespace meterd::loadgen
