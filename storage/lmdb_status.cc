#include "storage/lmdb_status.h"

#include <lmdb.h>

#include <cerrno>
#include <cstring>

namespace meterd::storage {

bool IsNoSpace(int rc) { return rc == MDB_MAP_FULL || rc == ENOSPC || rc == EFBIG || rc == EDQUOT; }

Status LmdbStatus(int rc, const std::string& context) {
  // mdb_strerror covers both LMDB codes and errno values.
  std::string message = context + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_SUCCESS:
      return Status::Ok();
    case MDB_NOTFOUND:
      return Status::NotFound(std::move(message));
    case MDB_KEYEXIST:
      return Status::AlreadyExists(std::move(message));
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
    case ENOMEM:
      return Status::ResourceExhausted(std::move(message));
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return Status::Corruption(std::move(message));
    case MDB_BAD_VALSIZE:
    case EINVAL:
      return Status::InvalidArgument(std::move(message));
    case EACCES:
    case EAGAIN:
      return Status::FailedPrecondition(std::move(message));
    case MDB_PANIC:
      return Status::Internal(std::move(message) + " (restart the process)");
    case EIO:
      return Status::IoError(std::move(message));
    default:
      return rc > 0 ? Status::IoError(std::move(message)) : Status::Internal(std::move(message));
  }
}

Status ErrnoStatus(int err, const std::string& context) {
  std::string message = context + ": " + std::strerror(err);
  if (err == ENOSPC || err == EFBIG || err == EDQUOT) {
    return Status::ResourceExhausted(std::move(message));
  }
  if (err == ENOENT) return Status::NotFound(std::move(message));
  return Status::IoError(std::move(message));
}

}  // namespace meterd::storage
