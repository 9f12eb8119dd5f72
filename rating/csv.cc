// RFC 4180 reading with two liberties, both harmless for hand-edited sheets: spaces around a
// quoted cell are ignored, and a lone CR counts as a line break like LF and CRLF.

#include "rating/csv.h"

#include <string>

namespace meterd::rating {
namespace {

bool IsBlankChar(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && IsBlankChar(s[b])) ++b;
  while (e > b && IsBlankChar(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace

CsvReader::CsvReader(std::string_view text) : text_(text) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

bool CsvReader::Fail(int line, std::string_view what) {
  done_ = true;
  status_ = Status::InvalidArgument("line " + std::to_string(line) + ": " + std::string(what));
  return false;
}

bool CsvReader::Next(CsvRecord* record) {
  if (done_) return false;
  const size_t n = text_.size();
  if (pos_ >= n) {
    done_ = true;
    return false;
  }
  const char* const base = text_.data();
  record->line_ = line_;
  record->cells_.clear();
  record->scratch_.clear();
  while (true) {
    CsvRecord::Cell cell;
    size_t p = pos_;
    while (p < n && IsBlankChar(base[p])) ++p;
    if (p < n && base[p] == '"') {
      const int quote_line = line_;
      const size_t content_begin = ++p;
      bool escaped = false;
      size_t content_end;
      while (true) {
        if (p >= n) return Fail(quote_line, "unterminated quoted field");
        const char c = base[p];
        if (c == '"') {
          if (p + 1 < n && base[p + 1] == '"') {
            escaped = true;
            p += 2;
            continue;
          }
          content_end = p++;
          break;
        }
        // Line breaks inside quotes are data, but still advance the physical line count.
        if (c == '\n' || (c == '\r' && (p + 1 >= n || base[p + 1] != '\n'))) ++line_;
        ++p;
      }
      while (p < n && IsBlankChar(base[p])) ++p;
      if (p < n && base[p] != ',' && base[p] != '\r' && base[p] != '\n') {
        return Fail(line_, "unexpected character after a closing quote");
      }
      std::string_view content(base + content_begin, content_end - content_begin);
      if (!escaped) {
        const std::string_view t = Trim(content);
        cell.data = t.data();
        cell.size = t.size();
      } else {
        std::string& s = record->scratch_;
        const size_t start = s.size();
        for (size_t i = 0; i < content.size(); ++i) {
          s.push_back(content[i]);
          if (content[i] == '"') ++i;  // the second quote of a "" pair
        }
        const std::string_view t = Trim(std::string_view(s).substr(start));
        cell.in_scratch = true;
        cell.offset = static_cast<size_t>(t.data() - s.data());
        cell.size = t.size();
      }
    } else {
      const size_t begin = pos_;
      while (p < n && base[p] != ',' && base[p] != '\r' && base[p] != '\n') {
        if (base[p] == '"') return Fail(line_, "quote inside an unquoted field");
        ++p;
      }
      const std::string_view t = Trim(std::string_view(base + begin, p - begin));
      cell.data = t.data();
      cell.size = t.size();
    }
    record->cells_.push_back(cell);
    if (p >= n) {
      pos_ = p;
      return true;
    }
    if (base[p] == ',') {
      pos_ = p + 1;
      continue;
    }
    // A record ends at CRLF, LF or a lone CR.
    if (base[p] == '\r' && p + 1 < n && base[p + 1] == '\n') ++p;
    pos_ = p + 1;
    ++line_;
    return true;
  }
}

}  // namespace meterd::rating
