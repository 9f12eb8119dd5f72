// Helpers for the storage tests: a temporary directory for one test's LMDB files (removed with
// everything in it when the object dies) and Cat, which builds strings by appending (GCC 12
// misfires -Wrestrict on "literal" + std::string). Not thread-safe.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>

#include "storage/env.h"

namespace meterd::storage::testing {

inline void AppendPiece(std::string* out, std::string_view piece) { out->append(piece); }
template <typename T>
requires std::is_integral_v<T>
inline void AppendPiece(std::string* out, T value) { out->append(std::to_string(value)); }
template <typename... Pieces>
std::string Cat(const Pieces&... pieces) {
  std::string out;
  (AppendPiece(&out, pieces), ...);
  return out;
}

// Small maps for tests: 64 MiB, growing by 64 MiB up to max_map_size.
inline EnvOptions SmallEnvOptions(uint64_t max_map_size = uint64_t{256} << 20) {
  EnvOptions o;
  o.map_size = uint64_t{64} << 20;
  o.max_map_size = max_map_size;
  o.map_growth_step = uint64_t{64} << 20;
  return o;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "meterd-storage-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace meterd::storage::testing
