// An RFC 4180 CSV reader over text already in memory (price sheets, reference uploads): quoted
// fields, "" escapes, commas and line breaks inside quotes, CRLF or LF, an optional UTF-8 BOM.
// Cells are trimmed of ASCII spaces and tabs (domain.md §8.21), also inside quotes. Cells are
// views into the input, except cells with "" escapes, which are unescaped into a buffer the
// record reuses; nothing is allocated per cell once the record's buffers have grown.
// A CsvReader and its CsvRecord are single-threaded values; the input must outlive both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace meterd::rating {

// One record (logical row). Views stay valid until the next CsvReader::Next into this record.
class CsvRecord {
 public:
  // 1-based physical line on which the record starts (a quoted cell may span several lines).
  int line() const { return line_; }
  size_t size() const { return cells_.size(); }
  std::string_view operator[](size_t i) const {
    const Cell& c = cells_[i];
    return c.in_scratch ? std::string_view(scratch_.data() + c.offset, c.size)
                        : std::string_view(c.data, c.size);
  }
  // True for an empty line: one cell holding nothing.
  bool IsBlank() const { return cells_.size() == 1 && cells_[0].size == 0; }

 private:
  friend class CsvReader;
  struct Cell {
    const char* data = nullptr;  // into the input, when !in_scratch
    size_t offset = 0;           // into scratch_, when in_scratch
    size_t size = 0;
    bool in_scratch = false;
  };
  int line_ = 0;
  std::vector<Cell> cells_;
  std::string scratch_;  // unescaped cells; offsets, not pointers, survive its growth
};

class CsvReader {
 public:
  // Skips a leading UTF-8 byte order mark.
  explicit CsvReader(std::string_view text);

  // Reads the next record. Returns false at the end of the input or on malformed quoting; then
  // status() tells which (OK at the end, InvalidArgument "line N: ..." on an error). After an
  // error the reader stays stopped: what follows broken quoting cannot be trusted.
  bool Next(CsvRecord* record);
  const Status& status() const { return status_; }
  // 1-based physical line the reader is at (where the next record would start).
  int line() const { return line_; }

 private:
  bool Fail(int line, std::string_view what);

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  bool done_ = false;
  Status status_;
};

}  // namespace meterd::rating
