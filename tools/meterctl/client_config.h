// Where meterctl finds the daemon and its token: command-line flags, then METERCTL_*
// environment variables, then a TOML file (--config, METERCTL_CONFIG, or
// $XDG_CONFIG_HOME/meterctl.toml, ~/.config/meterctl.toml), then defaults. The first level that
// names a token (inline or as a file) decides the token, so a flag always beats the environment.
// Pure functions over injected inputs (environment lookups are a callback); thread-compatible.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"

namespace meterd::meterctl {

inline constexpr std::string_view kDefaultUrl = "http://127.0.0.1:8787";

struct SettingsFlags {
  std::optional<std::string> url;
  std::optional<std::string> token;
  std::optional<std::string> token_file;
  std::optional<std::string> config_file;
  std::optional<std::string> timeout_seconds;
};

struct ClientSettings {
  std::string url;
  std::string token;         // empty when no level named one
  std::string token_source;  // "--token-file /x", "METERCTL_TOKEN", "~/.config/meterctl.toml"
  std::chrono::milliseconds timeout{60'000};
  std::string config_file;  // the file read, or empty
};

// Returns the value of an environment variable, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Resolves the settings. InvalidArgument for an unreadable or malformed config file, unknown
// keys in it (a typo would otherwise silently fall back to defaults), an unreadable or empty
// token file, or a timeout that is not a positive whole number of seconds. A config file named
// explicitly (--config, METERCTL_CONFIG) must exist; the default one may be absent.
Result<ClientSettings> ResolveSettings(const SettingsFlags& flags, const EnvLookup& env);

// The process environment.
EnvLookup ProcessEnv();

// Reads a token file: the first line, surrounding whitespace removed.
Result<std::string> ReadTokenFile(const std::string& path);

}  // namespace meterd::meterctl
