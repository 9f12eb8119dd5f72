#include "tests/tools/meterctl/test_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tools/meterctl/http_client.h"

namespace meterd::meterctl::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(30);

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string RepoPath(std::string_view relative) {
  return std::string(METERD_REPO_DIR) + "/" + std::string(relative);
}

std::string ExamplePath(std::string_view example, std::string_view file) {
  return RepoPath("tests/fixtures/examples/" + std::string(example) + "/" + std::string(file));
}

std::string FixturePath(std::string_view file) {
  return RepoPath("tests/tools/meterctl/fixtures/" + std::string(file));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/meterctl_test.XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) std::abort();
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

ProcessResult RunProcess(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<std::string>& env, const std::string& scratch) {
  static int counter = 0;
  const std::string out_path = scratch + "/run" + std::to_string(++counter) + ".out";
  const std::string err_path = out_path.substr(0, out_path.size() - 4) + ".err";
  std::vector<std::string> argv_strings{binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = env;
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);
  ProcessResult result;
  const pid_t pid = fork();
  if (pid < 0) return result;
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int in = open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  result.exit_code = WaitExit(pid);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

Result<std::unique_ptr<Meterd>> Meterd::Start(const std::string& data_dir,
                                              std::string_view fixed_clock) {
  std::unique_ptr<Meterd> d(new Meterd());
  d->data_dir_ = data_dir;
  d->log_path_ = data_dir + ".log";
  const std::string port_file = data_dir + ".port";
  std::error_code ec;
  fs::remove(port_file, ec);
  std::vector<std::string> argv_strings{METERD_BIN,    "--listen",      "127.0.0.1:0",
                                        "--port-file", port_file,       "--data-dir",
                                        data_dir,      "--fixed-clock", std::string(fixed_clock)};
  std::vector<std::string> env_strings{"PATH=/usr/bin:/bin"};
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);
  const pid_t pid = fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    const int log = open(d->log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int in = open("/dev/null", O_RDONLY);
    if (log < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(log, 1);
    dup2(log, 2);
    execve(METERD_BIN, argv.data(), envp.data());
    _exit(127);
  }
  d->pid_ = pid;
  const auto deadline = steady_clock::now() + kStartTimeout;
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      d->pid_ = -1;
      return Status::Unavailable("meterd exited while starting:\n" + d->LogTail());
    }
    const std::string text = ReadFile(port_file);
    if (!text.empty() && text.back() == '\n' &&
        text.find_first_not_of("0123456789\n") == std::string::npos) {
      d->port_ = std::stoi(text);
      break;
    }
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
      d->port_ = std::stoi(text);  // written without a newline
      break;
    }
    if (steady_clock::now() > deadline) {
      return Status::Unavailable("meterd wrote no port file:\n" + d->LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  HttpClient probe(Endpoint{"127.0.0.1", std::to_string(d->port_), ""}, "");
  while (true) {
    Result<HttpResponse> r = probe.Send(Method::kGet, "/readyz");
    if (r.ok() && r->status == 200 && fs::exists(d->admin_token_file())) break;
    if (steady_clock::now() > deadline) {
      return Status::Unavailable("meterd did not become ready:\n" + d->LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return d;
}

Meterd::~Meterd() { Stop(); }

int Meterd::Stop() {
  if (pid_ <= 0) return 0;
  kill(pid_, SIGTERM);
  const auto deadline = steady_clock::now() + kStopTimeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string Meterd::LogTail() const {
  const std::string log = ReadFile(log_path_);
  return log.size() > 4000 ? log.substr(log.size() - 4000) : log;
}

Meterctl::Meterctl(std::string url, std::string token_file, std::string scratch)
    : url_(std::move(url)), token_file_(std::move(token_file)), scratch_(std::move(scratch)) {
  fs::create_directories(scratch_ + "/home");
}

ProcessResult Meterctl::Run(const std::vector<std::string>& args,
                            const std::vector<std::string>& extra_env) const {
  std::vector<std::string> env{"PATH=/usr/bin:/bin", "HOME=" + scratch_ + "/home",
                               "METERCTL_URL=" + url_, "METERCTL_TOKEN_FILE=" + token_file_};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return RunProcess(METERCTL_BIN, args, env, scratch_);
}

std::string LoadExample(const Meterctl& meterctl, std::string_view example) {
  const std::vector<std::vector<std::string>> steps = {
      {"load", "reference", ExamplePath(example, "reference.ndjson")},
      {"load", "pricesheet", ExamplePath(example, "pricesheet.csv")},
      {"load", "fx", ExamplePath(example, "fx.json")},
      {"load", "budgets", ExamplePath(example, "budgets.json")},
      {"load", "usage", ExamplePath(example, "usage.ndjson")},
  };
  for (const auto& step : steps) {
    ProcessResult r = meterctl.Run(step);
    if (r.exit_code != 0) {
      std::string cmd;
      for (const std::string& s : step) cmd += s + " ";
      return cmd + "-> exit " + std::to_string(r.exit_code) + "\n" + r.out + r.err;
    }
  }
  return "";
}

}  // namespace meterd::meterctl::testing
