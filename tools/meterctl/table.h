// Aligned plain-text tables for meterctl's human output: a header row, a rule, and the rows;
// text columns left-aligned, number columns right-aligned so decimal points line up (every
// amount meterd returns has exactly 9 fractional digits). Widths count UTF-8 code points.
// A Table is a thread-compatible value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace meterd::meterctl {

class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string title;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Missing cells are empty; extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  // Columns separated by two spaces; no trailing spaces.
  std::string Render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// Code points in a UTF-8 string (continuation bytes not counted).
size_t DisplayWidth(std::string_view s);

}  // namespace meterd::meterctl
