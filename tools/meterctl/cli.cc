#include "tools/meterctl/cli.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "rating/civil_time.h"
#include "tools/meterctl/command.h"

#ifndef METERD_VERSION
#define METERD_VERSION "dev"
#endif

namespace meterd::meterctl {
namespace {

const OptionSpec kUrl{"url", "URL", "meterd's address (default http://127.0.0.1:8787)"};
const OptionSpec kToken{"token", "TOKEN", "bearer token (prefer --token-file: argv is visible)"};
const OptionSpec kTokenFile{"token-file", "PATH", "read the token from a file (first line)"};
const OptionSpec kConfig{"config", "PATH", "settings file (default ~/.config/meterctl.toml)"};
const OptionSpec kTimeout{"timeout", "SECONDS", "per-request deadline (default 60)"};
const OptionSpec kJson{"json", "", "print meterd's JSON answer instead of a table"};
const OptionSpec kHelp{"help", "", "show help"};
const OptionSpec kVersion{"version", "", "print the version"};
const OptionSpec* const kGlobalOptions[] = {&kUrl,     &kToken, &kTokenFile, &kConfig,
                                            &kTimeout, &kJson,  &kHelp};

constexpr std::string_view kExitCodes =
    "Exit codes: 0 ok; 1 meterd said no (or a local operation failed); 2 usage error; 3 cannot\n"
    "reach meterd; 4 reconcile found differences.\n";

// Built per run: the table is small, and a run is one process' whole life.
std::vector<Command> BuildCommands() {
  std::vector<Command> all;
  for (auto group : {LoadCommands, ServerCommands, ReconcileCommands, StoreCommands}) {
    for (Command& c : group()) all.push_back(std::move(c));
  }
  return all;
}

bool IsGlobalWithValue(std::string_view arg) {
  for (const OptionSpec* s : kGlobalOptions) {
    if (!s->value_name.empty() && arg == "--" + std::string(s->name)) return true;
  }
  return false;
}

std::string TopHelp(const std::vector<Command>& all) {
  std::string out =
      "meterctl: the operator's client for meterd (docs/meterctl.md)\n\n"
      "Usage: meterctl [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]\n\nCommands:\n";
  size_t width = 0;
  std::vector<std::string> heads;
  for (const Command& c : all) {
    std::string head = CommandName(c);
    if (!c.synopsis.empty()) head += " " + std::string(c.synopsis);
    width = std::max(width, head.size());
    heads.push_back(std::move(head));
  }
  for (size_t i = 0; i < heads.size(); ++i) {
    out += "  " + heads[i] + std::string(width - heads[i].size() + 2, ' ') +
           std::string(all[i].summary) + "\n";
  }
  out += "\nGlobal options (anywhere on the line):\n" + FormatOptions(kGlobalOptions);
  out +=
      "\nSettings come from flags, then METERCTL_URL, METERCTL_TOKEN, METERCTL_TOKEN_FILE,\n"
      "METERCTL_TIMEOUT, METERCTL_CONFIG, then the config file (url, token, token_file,\n"
      "timeout_seconds).\n\n";
  out += kExitCodes;
  out += "\n`meterctl COMMAND --help` describes one command.\n";
  return out;
}

std::string CommandHelp(const Command& c) {
  std::string out = "Usage: meterctl " + CommandName(c);
  if (!c.synopsis.empty()) out += " " + std::string(c.synopsis);
  out += "\n\n" + std::string(c.summary) + "\n";
  if (!c.details.empty()) out += "\n" + std::string(c.details) + "\n";
  if (!c.options.empty()) {
    std::vector<const OptionSpec*> specs;
    for (const OptionSpec& o : c.options) specs.push_back(&o);
    out += "\nOptions:\n" + FormatOptions(specs);
  }
  out += "\nGlobal options:\n" + FormatOptions(kGlobalOptions);
  out += "\n" + std::string(kExitCodes);
  return out;
}

std::string GroupHelp(const std::vector<Command>& all, std::string_view group) {
  std::string out = "Usage: meterctl " + std::string(group) + " SUBCOMMAND ...\n\nSubcommands:\n";
  for (const Command& c : all) {
    if (c.words.size() > 1 && c.words[0] == group) {
      out += "  " + CommandName(c) + " " + std::string(c.synopsis) + "\n      " +
             std::string(c.summary) + "\n";
    }
  }
  return out;
}

bool IsGroup(const std::vector<Command>& all, std::string_view word) {
  for (const Command& c : all) {
    if (c.words.size() > 1 && c.words[0] == word) return true;
  }
  return false;
}

// The command named by the leading words, and how many words it used.
const Command* FindCommand(const std::vector<Command>& all, const std::vector<std::string>& words,
                           size_t* used) {
  const Command* best = nullptr;
  for (const Command& c : all) {
    if (c.words.size() > words.size()) continue;
    bool match = true;
    for (size_t i = 0; i < c.words.size(); ++i) match = match && c.words[i] == words[i];
    if (match && (best == nullptr || c.words.size() > best->words.size())) best = &c;
  }
  if (best != nullptr) *used = best->words.size();
  return best;
}

}  // namespace

std::string CommandName(const Command& c) {
  std::string name;
  for (std::string_view w : c.words) name += (name.empty() ? "" : " ") + std::string(w);
  return name;
}

bool ValidMonth(std::string_view month) {
  rating::Month m;
  return rating::ParseMonth(month, &m);
}

std::string MonthQuery(const Context& ctx) {
  std::optional<std::string> month = ctx.Get("month");
  return month ? "month=" + UrlEncode(*month) : "";
}

std::optional<Json> NumberList(std::string_view text) {
  Json list = Json::Array();
  while (true) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!IsJsonNumber(item)) return std::nullopt;
    list.Append(Json::Number(std::string(item)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return list;
}

int Context::Usage(const std::string& message) {
  err() << "meterctl: " << message << "\n(see: meterctl " << CommandName(command_) << " --help)\n";
  return kExitUsage;
}

int Context::Fail(int code, const std::string& message) {
  err() << "meterctl: " << message << "\n";
  return code;
}

std::optional<std::string> Context::ReadInput(const std::string& path) {
  std::ostringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
    return buf.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Fail(kExitUsage, "cannot read " + path);
    return std::nullopt;
  }
  buf << in.rdbuf();
  return buf.str();
}

int Context::EnsureClient() {
  if (client_) return kExitOk;
  SettingsFlags flags{args_.Get("url"), args_.Get("token"), args_.Get("token-file"),
                      args_.Get("config"), args_.Get("timeout")};
  Result<ClientSettings> settings = ResolveSettings(flags, io_.env);
  if (!settings.ok()) return Fail(kExitUsage, settings.status().message());
  Result<Endpoint> endpoint = ParseUrl(settings->url);
  if (!endpoint.ok()) return Fail(kExitUsage, endpoint.status().message());
  url_ = settings->url;
  ClientOptions options;
  options.timeout = settings->timeout;
  client_ = std::make_unique<HttpClient>(std::move(*endpoint), settings->token, options);
  return kExitOk;
}

int Context::ReportHttpError(const HttpResponse& r) {
  std::string message = "meterd answered " + std::to_string(r.status);
  Result<Json> problem = Json::Parse(r.body);
  if (problem.ok() && problem->is_object()) {
    std::optional<std::string> title = problem->GetText("title");
    std::optional<std::string> detail = problem->GetText("detail");
    if (title) message += " " + *title;
    if (detail && detail != title) message += ": " + *detail;
    if (const Json* errors = problem->Find("errors"); errors && errors->is_array()) {
      for (const Json& e : errors->items()) message += "\n  " + e.Dump();
    }
  } else if (!r.body.empty()) {
    message += ": " + r.body.substr(0, 500);
  }
  if (r.status == 401) {
    message +=
        "\n  (no valid token: pass --token-file PATH, set METERCTL_TOKEN_FILE, or put "
        "token_file in ~/.config/meterctl.toml)";
  }
  return Fail(kExitRefused, message);
}

Answer Context::Call(Method method, const std::string& target, std::string_view content_type,
                     std::string body, std::chrono::milliseconds extra_time) {
  return DoCall(method, target, content_type, std::move(body), extra_time, 0);
}

Answer Context::CallTolerating(int tolerated, Method method, const std::string& target) {
  return DoCall(method, target, {}, {}, {}, tolerated);
}

Answer Context::DoCall(Method method, const std::string& target, std::string_view content_type,
                       std::string body, std::chrono::milliseconds extra_time, int tolerated) {
  Answer a;
  if (int rc = EnsureClient(); rc != kExitOk) {
    a.exit_code = rc;
    return a;
  }
  Result<HttpResponse> r = client_->Send(method, target, content_type, std::move(body), extra_time);
  if (!r.ok()) {
    a.exit_code =
        Fail(kExitUnreachable, "cannot reach meterd at " + url_ + ": " + r.status().message());
    return a;
  }
  a.response = std::move(*r);
  if (a.response.status == tolerated) return a;
  if (a.response.status >= 400) {
    a.exit_code = ReportHttpError(a.response);
    return a;
  }
  if (a.response.content_type == "application/json" && !a.response.body.empty()) {
    Result<Json> parsed = Json::Parse(a.response.body);
    if (!parsed.ok()) {
      a.exit_code = Fail(kExitRefused, "meterd sent malformed JSON: " + parsed.status().message());
      return a;
    }
    a.json = std::move(*parsed);
  }
  return a;
}

Answer Context::Download(const std::string& target, const std::string& path) {
  Answer a;
  if (int rc = EnsureClient(); rc != kExitOk) {
    a.exit_code = rc;
    return a;
  }
  Result<HttpResponse> r = client_->Download(target, path);
  if (!r.ok()) {
    const bool transport = r.status().code() == StatusCode::kUnavailable;
    a.exit_code = transport ? Fail(kExitUnreachable,
                                   "cannot reach meterd at " + url_ + ": " + r.status().message())
                            : Fail(kExitRefused, r.status().message());
    return a;
  }
  a.response = std::move(*r);
  if (a.response.status >= 400) a.exit_code = ReportHttpError(a.response);
  return a;
}

int RunMeterctl(const std::vector<std::string>& args, Io& io) {
  const std::vector<Command> all = BuildCommands();
  // The command words are the leading non-option words once global options are skipped.
  std::vector<std::string> words;
  std::vector<size_t> word_positions;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.size() > 1 && a[0] == '-') {
      if (IsGlobalWithValue(a)) ++i;
      if (!words.empty()) break;
      continue;
    }
    words.push_back(a);
    word_positions.push_back(i);
    if (words.size() == 2) break;
  }
  auto has_flag = [&](std::string_view f) {
    for (const std::string& a : args) {
      if (a == f) return true;
    }
    return false;
  };

  if (words.empty()) {
    if (has_flag("--version")) {
      io.out << "meterctl " << METERD_VERSION << "\n";
      return kExitOk;
    }
    if (has_flag("--help") || has_flag("-h")) {
      io.out << TopHelp(all);
      return kExitOk;
    }
    io.err << TopHelp(all);
    return kExitUsage;
  }
  if (words[0] == "help") {
    std::vector<std::string> rest(words.begin() + 1, words.end());
    for (size_t i = word_positions.back() + 1; i < args.size() && rest.size() < 2; ++i) {
      if (args[i][0] != '-') rest.push_back(args[i]);
    }
    size_t used = 0;
    if (rest.empty()) {
      io.out << TopHelp(all);
      return kExitOk;
    }
    if (const Command* c = FindCommand(all, rest, &used)) {
      io.out << CommandHelp(*c);
      return kExitOk;
    }
    if (IsGroup(all, rest[0])) {
      io.out << GroupHelp(all, rest[0]);
      return kExitOk;
    }
    io.err << "meterctl: unknown command \"" << rest[0] << "\"\n";
    return kExitUsage;
  }

  size_t used = 0;
  const Command* command = FindCommand(all, words, &used);
  if (command == nullptr) {
    if (IsGroup(all, words[0])) {
      const bool help = has_flag("--help") || has_flag("-h");
      if (!help) {
        io.err << "meterctl: "
               << (words.size() > 1 ? "unknown subcommand \"" + words[0] + " " + words[1] + "\""
                                    : "\"" + words[0] + "\" needs a subcommand")
               << "\n";
      }
      (help ? io.out : io.err) << GroupHelp(all, words[0]);
      return help ? kExitOk : kExitUsage;
    }
    io.err << "meterctl: unknown command \"" << words[0] << "\" (see meterctl --help)\n";
    return kExitUsage;
  }

  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    bool is_word = false;
    for (size_t w = 0; w < used; ++w) is_word = is_word || word_positions[w] == i;
    if (!is_word) rest.push_back(args[i]);
  }
  std::vector<const OptionSpec*> specs(std::begin(kGlobalOptions), std::end(kGlobalOptions));
  for (const OptionSpec& o : command->options) specs.push_back(&o);
  Result<ParsedArgs> parsed = ParseArgs(rest, specs);
  if (!parsed.ok()) {
    io.err << "meterctl: " << parsed.status().message() << "\n(see: meterctl "
           << CommandName(*command) << " --help)\n";
    return kExitUsage;
  }
  if (parsed->Has("help")) {
    io.out << CommandHelp(*command);
    return kExitOk;
  }
  const int n = static_cast<int>(parsed->positionals().size());
  if (n < command->min_positionals ||
      (command->max_positionals >= 0 && n > command->max_positionals)) {
    io.err << "meterctl: wrong number of arguments\nUsage: meterctl " << CommandName(*command)
           << " " << command->synopsis << "\n";
    return kExitUsage;
  }
  Context ctx(io, *command, std::move(*parsed));
  return command->run(ctx);
}

}  // namespace meterd::meterctl
