// Test helpers for meterctl_test: temporary directories, running a binary with a controlled
// environment and capturing its output, and a real meterd process (127.0.0.1 port 0, its own
// data directory, a fixed clock) that tests load through the meterctl binary. Single-threaded
// use; every process a helper starts is stopped by its owner's destructor.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace meterd::meterctl::testing {

inline constexpr std::string_view kFixedNow = "2026-11-20T12:00:00Z";

// METERD_REPO_DIR + "/" + relative.
std::string RepoPath(std::string_view relative);
std::string ExamplePath(std::string_view example, std::string_view file);
std::string FixturePath(std::string_view file);  // tests/tools/meterctl/fixtures/...
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, std::string_view content);

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

// Runs binary with args and exactly the environment env ("NAME=value"), waits, and returns its
// exit code and output. scratch is a directory for the captured output files.
ProcessResult RunProcess(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<std::string>& env, const std::string& scratch);

// A meterd process. Start waits until /readyz answers 200.
class Meterd {
 public:
  static Result<std::unique_ptr<Meterd>> Start(const std::string& data_dir,
                                               std::string_view fixed_clock = kFixedNow);
  ~Meterd();
  Meterd(const Meterd&) = delete;
  Meterd& operator=(const Meterd&) = delete;

  // SIGTERM and wait; returns the exit status (0 for a clean stop). Idempotent.
  int Stop();
  bool running() const { return pid_ > 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string admin_token_file() const { return data_dir_ + "/admin.token"; }
  std::string LogTail() const;

 private:
  Meterd() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string data_dir_;
  std::string log_path_;
};

// Runs the meterctl binary against a daemon: METERCTL_URL and METERCTL_TOKEN_FILE point at it,
// HOME at an empty directory (no operator's config file leaks in).
class Meterctl {
 public:
  Meterctl(std::string url, std::string token_file, std::string scratch);
  ProcessResult Run(const std::vector<std::string>& args,
                    const std::vector<std::string>& extra_env = {}) const;

 private:
  std::string url_;
  std::string token_file_;
  std::string scratch_;
};

// Loads an example (reference, price sheet, FX, budgets, usage, in that order) through meterctl;
// returns "" on success, else the failing command's output.
std::string LoadExample(const Meterctl& meterctl, std::string_view example);

}  // namespace meterd::meterctl::testing
