#include "tools/meterctl/client_config.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace meterd::meterctl {
namespace {

namespace fs = std::filesystem;

struct Level {
  std::optional<std::string> url;
  std::optional<std::string> token;
  std::optional<std::string> token_file;
  std::optional<std::string> timeout_seconds;
  std::string source;  // for messages: "flags", "environment", the file path
};

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

Result<std::chrono::milliseconds> ParseTimeout(const std::string& text, const std::string& src) {
  if (text.empty() || text.size() > 6 ||
      text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) == 0) {
    return Status::InvalidArgument("timeout from " + src +
                                   " must be a positive whole number of seconds, got \"" + text +
                                   "\"");
  }
  return std::chrono::milliseconds(int64_t{std::stoi(text)} * 1000);
}

// Reads the TOML file into a Level. Keys: url, token, token_file (relative to the file's
// folder), timeout_seconds.
Result<Level> ReadConfigFile(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Status::InvalidArgument("cannot read config file " + path + ":" +
                                   std::to_string(where.line) + ":" + std::to_string(where.column) +
                                   ": " + std::string(e.description()));
  }
  Level level;
  level.source = path;
  for (auto&& [key, node] : root) {
    const std::string name(key.str());
    auto text = [&](std::optional<std::string>* out) -> Status {
      if (const auto* s = node.as_string()) {
        *out = s->get();
        return Status::Ok();
      }
      return Status::InvalidArgument(path + ": " + name + " must be a string");
    };
    if (name == "url") {
      METERD_RETURN_IF_ERROR(text(&level.url));
    } else if (name == "token") {
      METERD_RETURN_IF_ERROR(text(&level.token));
    } else if (name == "token_file") {
      METERD_RETURN_IF_ERROR(text(&level.token_file));
      fs::path p(*level.token_file);
      if (p.is_relative()) level.token_file = (fs::path(path).parent_path() / p).string();
    } else if (name == "timeout_seconds") {
      const auto* i = node.as_integer();
      if (i == nullptr)
        return Status::InvalidArgument(path + ": timeout_seconds must be an integer");
      level.timeout_seconds = std::to_string(i->get());
    } else {
      return Status::InvalidArgument(path + ": unknown key \"" + name +
                                     "\" (known: url, token, token_file, timeout_seconds)");
    }
  }
  return level;
}

}  // namespace

Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read token file " + path);
  std::string line;
  std::getline(in, line);
  std::string token = Trim(line);
  if (token.empty()) return Status::InvalidArgument("token file " + path + " is empty");
  return token;
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<ClientSettings> ResolveSettings(const SettingsFlags& flags, const EnvLookup& env) {
  Level flag_level{flags.url, flags.token, flags.token_file, flags.timeout_seconds, "flags"};
  Level env_level{env("METERCTL_URL"), env("METERCTL_TOKEN"), env("METERCTL_TOKEN_FILE"),
                  env("METERCTL_TIMEOUT"), "environment"};

  // Which config file, if any.
  std::string config_path;
  bool explicit_config = true;
  if (flags.config_file) {
    config_path = *flags.config_file;
  } else if (auto c = env("METERCTL_CONFIG")) {
    config_path = *c;
  } else {
    explicit_config = false;
    if (auto xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) {
      config_path = (fs::path(*xdg) / "meterctl.toml").string();
    } else if (auto home = env("HOME"); home && !home->empty()) {
      config_path = (fs::path(*home) / ".config" / "meterctl.toml").string();
    }
  }
  Level file_level;
  ClientSettings out;
  if (!config_path.empty()) {
    std::error_code ec;
    if (fs::exists(config_path, ec)) {
      Result<Level> read = ReadConfigFile(config_path);
      if (!read.ok()) return read.status();
      file_level = std::move(*read);
      out.config_file = config_path;
    } else if (explicit_config) {
      return Status::InvalidArgument("config file " + config_path + " does not exist");
    }
  }

  const Level* levels[] = {&flag_level, &env_level, &file_level};
  out.url = std::string(kDefaultUrl);
  for (const Level* l : levels) {
    if (l->url) {
      out.url = *l->url;
      break;
    }
  }
  for (const Level* l : levels) {
    if (l->timeout_seconds) {
      Result<std::chrono::milliseconds> t = ParseTimeout(*l->timeout_seconds, l->source);
      if (!t.ok()) return t.status();
      out.timeout = *t;
      break;
    }
  }
  for (const Level* l : levels) {
    // An inline token and a token file on the same level: the inline one is more specific.
    if (l->token) {
      out.token = Trim(*l->token);
      out.token_source = l == &flag_level  ? "--token"
                         : l == &env_level ? "METERCTL_TOKEN"
                                           : l->source;
      break;
    }
    if (l->token_file) {
      Result<std::string> t = ReadTokenFile(*l->token_file);
      if (!t.ok()) return t.status();
      out.token = std::move(*t);
      out.token_source = (l == &flag_level  ? "--token-file "
                          : l == &env_level ? "METERCTL_TOKEN_FILE "
                                            : l->source + " token_file ") +
                         *l->token_file;
      break;
    }
  }
  return out;
}

}  // namespace meterd::meterctl
