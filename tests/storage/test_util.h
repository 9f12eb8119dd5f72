// Helpers for the storage tests: a temporary directory for one test's LMDB files (removed with
// everything in it when the object dies) and Cat, which builds strings by appending (GCC 12
// misfires -Wrestrict on "literal" + std::string). Not thread-safe.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>

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
