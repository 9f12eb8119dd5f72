#include "rating/csv.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace meterd::rating {
namespace {

struct Row {
  int line;
  std::vector<std::string> cells;
  friend bool operator==(const Row&, const Row&) = default;
};

std::ostream& operator<<(std::ostream& os, const Row& r) {
  os << "{line " << r.line << ":";
  for (const auto& c : r.cells) os << " [" << c << "]";
  return os << "}";
}

// Reads everything; the final status goes to *status.
std::vector<Row> ReadAll(std::string_view text, Status* status = nullptr) {
  CsvReader reader(text);
  CsvRecord rec;
  std::vector<Row> rows;
  while (reader.Next(&rec)) {
    Row r{rec.line(), {}};
    for (size_t i = 0; i < rec.size(); ++i) r.cells.emplace_back(rec[i]);
    rows.push_back(std::move(r));
  }
  if (status != nullptr) {
    *status = reader.status();
  } else {
    EXPECT_TRUE(reader.status().ok()) << reader.status().ToString();
  }
  return rows;
}

TEST(CsvReader, SplitsSimpleRecordsWithLf) {
  EXPECT_EQ(ReadAll("a,b,c\n1,2,3\n"),
            (std::vector<Row>{{1, {"a", "b", "c"}}, {2, {"1", "2", "3"}}}));
}

TEST(CsvReader, AcceptsCrLfAndAMissingFinalLineBreak) {
  EXPECT_EQ(ReadAll("a,b\r\n1,2\r\n3,4"),
            (std::vector<Row>{{1, {"a", "b"}}, {2, {"1", "2"}}, {3, {"3", "4"}}}));
}

TEST(CsvReader, SkipsAUtf8ByteOrderMark) {
  EXPECT_EQ(ReadAll("\xEF\xBB\xBFMeterId,Market\r\nx,US\r\n"),
            (std::vector<Row>{{1, {"MeterId", "Market"}}, {2, {"x", "US"}}}));
}

TEST(CsvReader, KeepsEmptyCellsIncludingTrailingOnes) {
  EXPECT_EQ(ReadAll(",a,,\n"), (std::vector<Row>{{1, {"", "a", "", ""}}}));
  EXPECT_EQ(ReadAll("a,"), (std::vector<Row>{{1, {"a", ""}}}));
}

TEST(CsvReader, ReportsBlankLinesAsBlankRecords) {
  CsvReader reader("a\n\nb\n");
  CsvRecord rec;
  ASSERT_TRUE(reader.Next(&rec));
  EXPECT_FALSE(rec.IsBlank());
  ASSERT_TRUE(reader.Next(&rec));
  EXPECT_TRUE(rec.IsBlank());
  EXPECT_EQ(rec.line(), 2);
  ASSERT_TRUE(reader.Next(&rec));
  EXPECT_EQ(rec[0], "b");
  EXPECT_EQ(rec.line(), 3);
  EXPECT_FALSE(reader.Next(&rec));
  EXPECT_TRUE(reader.status().ok());
}

TEST(CsvReader, YieldsNothingForEmptyInput) {
  EXPECT_TRUE(ReadAll("").empty());
  EXPECT_TRUE(ReadAll("\xEF\xBB\xBF").empty());
}

TEST(CsvReader, TrimsAsciiSpacesFromCells) {
  EXPECT_EQ(ReadAll("  a , b\t,c  \n"), (std::vector<Row>{{1, {"a", "b", "c"}}}));
  EXPECT_EQ(ReadAll(" \"x, y\" , \" z \"\n"), (std::vector<Row>{{1, {"x, y", "z"}}}));
}

TEST(CsvReader, ReadsQuotedCellsWithCommasEscapesAndLineBreaks) {
  const std::string text =
      "id,name,note\r\n"
      "1,\"Bonaire, Sint Eustatius and Saba\",\"say \"\"hi\"\"\"\r\n"
      "2,\"two\r\nlines\",\"\"\r\n"
      "3,\"\"\"\",x\r\n";
  EXPECT_EQ(ReadAll(text), (std::vector<Row>{
                               {1, {"id", "name", "note"}},
                               {2, {"1", "Bonaire, Sint Eustatius and Saba", "say \"hi\""}},
                               {3, {"2", "two\r\nlines", ""}},
                               {5, {"3", "\"", "x"}},
                           }));
}

TEST(CsvReader, CountsPhysicalLinesAcrossMultiLineCells) {
  const auto rows = ReadAll("h\n\"a\nb\nc\"\nnext\n\"d\"\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_EQ(rows[2].line, 5);
  EXPECT_EQ(rows[3].line, 6);
}

TEST(CsvReader, KeepsEscapedCellsValidWhileTheRecordGrows) {
  // Many escaped cells in one record force the scratch buffer to reallocate.
  std::string text;
  for (int i = 0; i < 200; ++i) {
    if (i > 0) text += ',';
    text += "\"v\"\"" + std::to_string(i) + "\"";
  }
  const auto rows = ReadAll(text);
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].cells.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(rows[0].cells[i], "v\"" + std::to_string(i));
}

TEST(CsvReader, ReportsAnUnterminatedQuoteWithTheLineItStarted) {
  Status st;
  const auto rows = ReadAll("a,b\n1,\"open\n2,3\n4,5\n", &st);
  EXPECT_EQ(rows.size(), 1u);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "line 2: unterminated quoted field");
}

TEST(CsvReader, ReportsAQuoteInsideAnUnquotedCell) {
  Status st;
  const auto rows = ReadAll("a,b\n1,2\n3,ab\"c\n4,5\n", &st);
  EXPECT_EQ(rows.size(), 2u);
  EXPECT_EQ(st.message(), "line 3: quote inside an unquoted field");
}

TEST(CsvReader, ReportsTextAfterAClosingQuote) {
  Status st;
  ReadAll("a\r\nb\r\n\"x\"y,1\r\n", &st);
  EXPECT_EQ(st.message(), "line 3: unexpected character after a closing quote");
}

TEST(CsvReader, StaysStoppedAfterAnError) {
  CsvReader reader("\"x\"y\nok\n");
  CsvRecord rec;
  EXPECT_FALSE(reader.Next(&rec));
  EXPECT_FALSE(reader.status().ok());
  EXPECT_FALSE(reader.Next(&rec));
  EXPECT_FALSE(reader.status().ok());
}

TEST(CsvReader, TreatsALoneCarriageReturnAsALineBreak) {
  EXPECT_EQ(ReadAll("a\rb\r"), (std::vector<Row>{{1, {"a"}}, {2, {"b"}}}));
}

std::string_view TrimForTest(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Writes random cells the way a spreadsheet would (quoting when needed, CRLF or LF) and reads
// them back: every cell must come back (trimmed), with the right starting line numbers.
TEST(CsvReader, RoundTripsRandomlyGeneratedSheets) {
  std::mt19937 rng(4180);
  const std::string_view alphabet[] = {"a", "Z", "0", ",", "\"", "\n", "\r\n", " ", "\t", "é"};
  for (int round = 0; round < 300; ++round) {
    const bool crlf = rng() % 2;
    std::vector<std::vector<std::string>> want;
    std::vector<int> want_lines;
    std::string text = rng() % 4 == 0 ? "\xEF\xBB\xBF" : "";
    int line = 1;
    const int records = 1 + static_cast<int>(rng() % 6);
    for (int r = 0; r < records; ++r) {
      const int cells = 1 + static_cast<int>(rng() % 5);
      std::vector<std::string> row;
      want_lines.push_back(line);
      for (int c = 0; c < cells; ++c) {
        std::string cell;
        const int len = static_cast<int>(rng() % 6);
        for (int k = 0; k < len; ++k) cell += alphabet[rng() % std::size(alphabet)];
        if (cells == 1 && TrimForTest(cell).empty()) cell = "x";  // not a blank record
        const bool quote = cell.find_first_of(",\"\r\n") != std::string::npos || rng() % 3 == 0;
        if (c > 0) text += ',';
        if (quote) {
          text += '"';
          for (char ch : cell) {
            if (ch == '"') text += '"';
            text += ch;
          }
          text += '"';
        } else {
          text += cell;
        }
        for (size_t i = 0; i < cell.size(); ++i) {
          if (cell[i] == '\n') ++line;
        }
        row.emplace_back(TrimForTest(cell));
      }
      want.push_back(std::move(row));
      if (r + 1 < records || rng() % 2) {
        text += crlf ? "\r\n" : "\n";
        ++line;
      }
    }
    const std::vector<Row> got = ReadAll(text);
    ASSERT_EQ(got.size(), want.size()) << text;
    for (size_t r = 0; r < want.size(); ++r) {
      ASSERT_EQ(got[r].cells, want[r]) << "round " << round << " record " << r;
      ASSERT_EQ(got[r].line, want_lines[r]) << "round " << round << " record " << r;
    }
  }
}

}  // namespace
}  // namespace meterd::rating
