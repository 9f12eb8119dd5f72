// Internal to meterctl: the subcommand table and the Context every subcommand runs with
// (parsed arguments, output streams, the lazily created HTTP client, and helpers that turn
// transport failures and problem+json answers into messages and exit codes). One Context per
// run, used by one thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/meterctl/args.h"
#include "tools/meterctl/cli.h"
#include "tools/meterctl/http_client.h"
#include "tools/meterctl/json.h"

namespace meterd::meterctl {

class Context;

struct Command {
  std::vector<std::string_view> words;  // {"load", "fx"}
  std::string_view synopsis;            // "[MONTH] FILE"
  std::string_view summary;             // one line for the command list
  std::string_view details;             // paragraphs for --help
  std::vector<OptionSpec> options;      // besides the global ones
  int min_positionals = 0;
  int max_positionals = 0;  // -1: unlimited
  int (*run)(Context& ctx) = nullptr;
};

// An answer from meterd, or the exit code already reported when there is none to use.
struct Answer {
  int exit_code = kExitOk;  // not kExitOk: the error was printed, return this
  HttpResponse response;
  Json json;  // parsed when the answer is JSON
  bool ok() const { return exit_code == kExitOk; }
};

class Context {
 public:
  Context(Io& io, const Command& command, ParsedArgs args)
      : io_(io), command_(command), args_(std::move(args)) {}

  std::ostream& out() { return io_.out; }
  std::ostream& err() { return io_.err; }
  const ParsedArgs& args() const { return args_; }
  const std::vector<std::string>& positionals() const { return args_.positionals(); }
  std::optional<std::string> Get(std::string_view name) const { return args_.Get(name); }
  bool Has(std::string_view name) const { return args_.Has(name); }
  bool json() const { return args_.Has("json"); }
  const Io& io() const { return io_; }

  // Prints "meterctl: message" and a pointer to --help; returns kExitUsage.
  int Usage(const std::string& message);
  // Prints "meterctl: message"; returns code.
  int Fail(int code, const std::string& message);

  // Sends a request (creating the client on first use). Transport failures print a message and
  // give kExitUnreachable; a 4xx/5xx prints the problem document and gives kExitRefused; a
  // settings error gives kExitUsage. A JSON answer is parsed into Answer::json.
  Answer Call(Method method, const std::string& target, std::string_view content_type = {},
              std::string body = {}, std::chrono::milliseconds extra_time = {});
  // Like Call, but an answer with status `tolerated` is returned quietly with exit_code OK
  // (e.g. 404 for a customer meterd does not know).
  Answer CallTolerating(int tolerated, Method method, const std::string& target);
  // Streams GET target into path; errors as Call.
  Answer Download(const std::string& target, const std::string& path);

  // Reads a local input file ("-" = standard input); on failure prints and returns nullopt.
  std::optional<std::string> ReadInput(const std::string& path);

 private:
  int EnsureClient();
  int ReportHttpError(const HttpResponse& response);
  Answer DoCall(Method method, const std::string& target, std::string_view content_type,
                std::string body, std::chrono::milliseconds extra_time, int tolerated);

  Io& io_;
  const Command& command_;
  ParsedArgs args_;
  std::unique_ptr<HttpClient> client_;
  std::string url_;
};

// The command groups, defined next to their implementations.
std::vector<Command> LoadCommands();    // load reference|pricesheet|fx|budgets|usage
std::vector<Command> ServerCommands();  // token, budget, spend, overview, lines, alerts, export
std::vector<Command> ReconcileCommands();
std::vector<Command> StoreCommands();  // backup, stats

// Helpers shared by the command files.
std::string CommandName(const Command& c);   // "load fx"
std::string MonthQuery(const Context& ctx);  // "month=2026-11" or "" (server's default)
bool ValidMonth(std::string_view month);     // YYYY-MM
// A comma-separated list of JSON numbers ("80,100") as a JSON array; nullopt when malformed.
std::optional<Json> NumberList(std::string_view text);

}  // namespace meterd::meterctl
