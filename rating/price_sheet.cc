// Price-sheet rows are judged one at a time so that a bad row can be reported with the table
// key it belongs to (§8.22 rejects the whole table); the header decides column positions once.

#include "rating/price_sheet.h"

#include <algorithm>
#include <array>
#include <map>
#include <tuple>
#include <utility>

#include "rating/csv.h"

namespace meterd::rating {
namespace {

enum Column : int {
  kProductId,
  kSkuId,
  kMeterId,
  kMeterName,
  kMeterCategory,
  kMeterSubCategory,
  kMeterRegion,
  kUnitOfMeasure,
  kMarket,
  kCurrency,
  kUnitPrice,
  kTierMin,
  kTierMax,
  kEffectiveStart,
  kEffectiveEnd,
  kTags,
  kPublisher,
  kColumnCount,
};

struct ColumnName {
  std::string_view name;  // lowercase
  Column column;
};

constexpr std::array<ColumnName, 18> kColumnNames = {{
    {"productid", kProductId},
    {"skuid", kSkuId},
    {"meterid", kMeterId},
    {"meterids", kMeterId},
    {"metername", kMeterName},
    {"metercategory", kMeterCategory},
    {"metersubcategory", kMeterSubCategory},
    {"meterregion", kMeterRegion},
    {"unitofmeasure", kUnitOfMeasure},
    {"market", kMarket},
    {"currency", kCurrency},
    {"unitprice", kUnitPrice},
    {"pricingtierrangemin", kTierMin},
    {"pricingtierrangemax", kTierMax},
    {"effectivestartdate", kEffectiveStart},
    {"effectiveenddate", kEffectiveEnd},
    {"tags", kTags},
    {"publisher", kPublisher},
}};

constexpr std::string_view kCanonicalNames[kColumnCount] = {
    "ProductId",
    "SkuId",
    "MeterId",
    "MeterName",
    "MeterCategory",
    "MeterSubCategory",
    "MeterRegion",
    "UnitOfMeasure",
    "Market",
    "Currency",
    "UnitPrice",
    "PricingTierRangeMin",
    "PricingTierRangeMax",
    "EffectiveStartDate",
    "EffectiveEndDate",
    "Tags",
    "Publisher",
};

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char UpperAscii(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerAscii(c);
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = UpperAscii(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<Column> ColumnOf(std::string_view header_cell) {
  for (const ColumnName& c : kColumnNames) {
    if (EqualsIgnoreCase(header_cell, c.name)) return c.column;
  }
  return std::nullopt;
}

// Column → cell index in a record, or -1 when the sheet has no such column.
using ColumnMap = std::array<int, kColumnCount>;

std::string Quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

std::string DecimalDetail(Column column, std::string_view text, std::string_view why) {
  return std::string(kCanonicalNames[column]) + " " + Quoted(text) + ": " + std::string(why);
}

// Parses a non-negative decimal cell; on failure returns a detail message.
std::optional<std::string> ReadNonNegative(Column column, std::string_view text, Decimal* out) {
  Decimal d;
  const DecimalError e = Decimal::Parse(text, &d);
  switch (e) {
    case DecimalError::kOk:
      break;
    case DecimalError::kSyntax:
      return DecimalDetail(column, text, "not a decimal number");
    case DecimalError::kTooPrecise:
      return DecimalDetail(column, text, "more than 9 fractional digits");
    case DecimalError::kOutOfRange:
      return DecimalDetail(column, text, "out of range");
  }
  if (d.IsNegative()) return DecimalDetail(column, text, "negative");
  *out = d;
  return std::nullopt;
}

bool IsMarketCode(std::string_view s) {
  if (s.size() != 2) return false;
  for (char c : s) {
    c = UpperAscii(c);
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

class RowReader {
 public:
  RowReader(const ColumnMap& columns, const CsvRecord& record)
      : columns_(columns), record_(record) {}

  std::string_view Cell(Column c) const {
    const int i = columns_[c];
    return i < 0 ? std::string_view() : record_[static_cast<size_t>(i)];
  }
  bool Has(Column c) const { return columns_[c] >= 0; }

 private:
  const ColumnMap& columns_;
  const CsvRecord& record_;
};

// Turns one record into a row or a problem (exactly one of the two is appended).
void ReadRow(const ColumnMap& columns, size_t header_size, const CsvRecord& record,
             PriceSheet* sheet) {
  PriceRowProblem problem;
  problem.line = record.line();
  const auto fail = [&](PriceRowError error, std::string detail) {
    problem.error = error;
    problem.detail = std::move(detail);
    sheet->problems.push_back(std::move(problem));
  };
  if (record.size() != header_size) {
    fail(PriceRowError::kFieldCount,
         std::to_string(record.size()) + " fields, the header has " + std::to_string(header_size));
    return;
  }
  const RowReader cells(columns, record);

  // The table key first, so that every later problem can name the table it rejects.
  const std::string_view meter = cells.Cell(kMeterId);
  // Stored price keys separate market and meter id with NUL, so a meter id holding one could
  // read as another meter's key; usage meter ids never hold it, so such a row is unusable too.
  const bool meter_has_nul = meter.find('\0') != std::string_view::npos;
  if (!meter.empty() && !meter_has_nul) problem.meter_id = Lower(meter);
  const std::string_view market = cells.Cell(kMarket);
  if (IsMarketCode(market)) problem.market = Upper(market);
  const std::string_view start_text = cells.Cell(kEffectiveStart);
  Date start;
  if (ParsePriceSheetDate(start_text, &start)) problem.effective_start = start;

  if (!problem.meter_id) {
    return fail(PriceRowError::kMissingMeterId,
                meter_has_nul ? "MeterId contains a NUL character" : "MeterId is empty");
  }
  if (!problem.market) {
    return fail(PriceRowError::kBadMarket,
                "Market " + Quoted(market) + ": not a two-letter country code");
  }
  if (!problem.effective_start) {
    return fail(PriceRowError::kBadEffectiveStart,
                "EffectiveStartDate " + Quoted(start_text) + ": not YYYY-MM-DD or M/D/YYYY");
  }
  // An absent Currency column means USD; an empty cell in a present column does not.
  std::string currency = "USD";
  if (cells.Has(kCurrency)) {
    currency = Upper(cells.Cell(kCurrency));
    if (currency != "USD") {
      return fail(PriceRowError::kNotUsd,
                  "Currency " + Quoted(cells.Cell(kCurrency)) + ": Azure plan prices are USD");
    }
  }

  PriceRow row;
  row.line = record.line();
  const std::string_view price_text = cells.Cell(kUnitPrice);
  if (auto why = ReadNonNegative(kUnitPrice, price_text, &row.unit_price)) {
    return fail(PriceRowError::kBadUnitPrice, std::move(*why));
  }
  const std::string_view min_text = cells.Cell(kTierMin);
  if (!min_text.empty()) {
    if (auto why = ReadNonNegative(kTierMin, min_text, &row.tier_min)) {
      return fail(PriceRowError::kBadTierMin, std::move(*why));
    }
  }
  const std::string_view max_text = cells.Cell(kTierMax);
  if (!max_text.empty()) {
    Decimal max;
    if (auto why = ReadNonNegative(kTierMax, max_text, &max)) {
      return fail(PriceRowError::kBadTierMax, std::move(*why));
    }
    row.tier_max = max;
  }
  const std::string_view end_text = cells.Cell(kEffectiveEnd);
  if (!end_text.empty()) {
    Date end;
    if (!ParsePriceSheetDate(end_text, &end)) {
      return fail(PriceRowError::kBadEffectiveEnd,
                  "EffectiveEndDate " + Quoted(end_text) + ": not YYYY-MM-DD or M/D/YYYY");
    }
    if (end < start) {
      return fail(PriceRowError::kBadEffectiveEnd, "EffectiveEndDate " + Quoted(end_text) +
                                                       " is before EffectiveStartDate " +
                                                       Quoted(start_text));
    }
    row.effective_end = end;
  }

  row.market = std::move(*problem.market);
  row.meter_id = std::move(*problem.meter_id);
  row.effective_start = start;
  row.currency = std::move(currency);
  row.product_id = cells.Cell(kProductId);
  row.sku_id = cells.Cell(kSkuId);
  row.meter_name = cells.Cell(kMeterName);
  row.meter_category = cells.Cell(kMeterCategory);
  row.meter_sub_category = cells.Cell(kMeterSubCategory);
  row.meter_region = cells.Cell(kMeterRegion);
  row.unit_of_measure = cells.Cell(kUnitOfMeasure);
  row.tags = cells.Cell(kTags);
  row.tag_flags = ParseTags(row.tags);
  row.publisher = cells.Cell(kPublisher);
  sheet->rows.push_back(std::move(row));
}

// Calls f(word) for each trimmed, non-empty word of a tag list.
template <typename F>
void ForEachTagWord(std::string_view tags, F f) {
  size_t i = 0;
  while (i <= tags.size()) {
    size_t j = tags.find_first_of(";,", i);
    if (j == std::string_view::npos) j = tags.size();
    const std::string_view word = TrimSpaces(tags.substr(i, j - i));
    if (!word.empty()) f(word);
    i = j + 1;
  }
}

std::string DescribeEnd(const std::optional<Date>& end) {
  return end ? FormatDate(*end) : std::string("(open)");
}

std::string JoinWords(const std::vector<std::string>& words) {
  std::string out = "{";
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += ", ";
    out += words[i];
  }
  return out + "}";
}

}  // namespace

TagFlags ParseTags(std::string_view tags) {
  TagFlags flags;
  ForEachTagWord(tags, [&](std::string_view word) {
    if (EqualsIgnoreCase(word, "azure")) flags.Add(PriceTag::kAzure);
    if (EqualsIgnoreCase(word, "third party")) flags.Add(PriceTag::kThirdParty);
    if (EqualsIgnoreCase(word, "reservations")) flags.Add(PriceTag::kReservations);
  });
  return flags;
}

std::vector<std::string> TagWords(std::string_view tags) {
  std::vector<std::string> words;
  ForEachTagWord(tags, [&](std::string_view word) { words.push_back(Lower(word)); });
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return words;
}

std::string_view PriceRowErrorName(PriceRowError e) {
  switch (e) {
    case PriceRowError::kFieldCount:
      return "field_count";
    case PriceRowError::kMissingMeterId:
      return "missing_meter_id";
    case PriceRowError::kBadMarket:
      return "bad_market";
    case PriceRowError::kBadUnitPrice:
      return "bad_unit_price";
    case PriceRowError::kBadTierMin:
      return "bad_tier_min";
    case PriceRowError::kBadTierMax:
      return "bad_tier_max";
    case PriceRowError::kBadEffectiveStart:
      return "bad_effective_start";
    case PriceRowError::kBadEffectiveEnd:
      return "bad_effective_end";
    case PriceRowError::kNotUsd:
      return "not_usd";
  }
  return "unknown";
}

Result<PriceSheet> ParsePriceSheet(std::string_view csv) {
  CsvReader reader(csv);
  CsvRecord record;
  // The header is the first non-blank record.
  bool have_header = false;
  while (reader.Next(&record)) {
    if (!record.IsBlank()) {
      have_header = true;
      break;
    }
  }
  if (!reader.status().ok()) return reader.status();
  if (!have_header) return Status::InvalidArgument("price sheet is empty: no header row");

  ColumnMap columns;
  columns.fill(-1);
  const size_t header_size = record.size();
  for (size_t i = 0; i < header_size; ++i) {
    const std::optional<Column> c = ColumnOf(record[i]);
    if (!c) continue;  // unknown columns are ignored
    if (columns[*c] >= 0) {
      return Status::InvalidArgument("line " + std::to_string(record.line()) + ": column " +
                                     std::string(kCanonicalNames[*c]) + " appears twice");
    }
    columns[*c] = static_cast<int>(i);
  }
  for (Column required : {kMeterId, kMarket, kUnitPrice, kEffectiveStart}) {
    if (columns[required] < 0) {
      return Status::InvalidArgument("line " + std::to_string(record.line()) +
                                     ": required column " + std::string(kCanonicalNames[required]) +
                                     " is missing");
    }
  }

  PriceSheet sheet;
  while (reader.Next(&record)) {
    if (record.IsBlank()) continue;
    ReadRow(columns, header_size, record, &sheet);
  }
  if (!reader.status().ok()) return reader.status();
  return sheet;
}

std::vector<size_t> CollapseRepeatedKeys(std::span<const PriceRow> rows) {
  using Key = std::tuple<std::string_view, std::string_view, int32_t, int128>;
  std::map<Key, size_t> slot_of;  // key → position in `out`
  std::vector<size_t> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const PriceRow& r = rows[i];
    const Key key{r.market, r.meter_id, r.effective_start.days, r.tier_min.nanos()};
    auto [it, inserted] = slot_of.emplace(key, out.size());
    if (inserted) {
      out.push_back(i);
    } else {
      out[it->second] = i;
    }
  }
  return out;
}

Status ValidateTierTable(std::span<const PriceRow> rows) {
  if (rows.empty()) return Status::InvalidArgument("tier table has no rows");
  const PriceRow& first = rows.front();
  const PriceRow* lowest = &first;
  const std::vector<std::string> first_tags = TagWords(first.tags);
  const std::string_view first_publisher = TrimSpaces(first.publisher);
  for (size_t i = 0; i < rows.size(); ++i) {
    const PriceRow& r = rows[i];
    if (!EqualsIgnoreCase(r.market, first.market) ||
        !EqualsIgnoreCase(r.meter_id, first.meter_id) ||
        r.effective_start != first.effective_start) {
      return Status::InvalidArgument("rows of different tier tables were mixed");
    }
    for (size_t j = 0; j < i; ++j) {
      if (rows[j].tier_min == r.tier_min) {
        return Status::InvalidArgument("two tiers start at PricingTierRangeMin " +
                                       r.tier_min.ToString());
      }
    }
    if (r.tier_min < lowest->tier_min) lowest = &r;
    if (r.effective_end != first.effective_end) {
      return Status::InvalidArgument(
          "tiers disagree on EffectiveEndDate: " + DescribeEnd(first.effective_end) + " vs " +
          DescribeEnd(r.effective_end));
    }
    if (i > 0) {
      std::vector<std::string> tags = TagWords(r.tags);
      if (tags != first_tags) {
        return Status::InvalidArgument("tiers disagree on Tags: " + JoinWords(first_tags) + " vs " +
                                       JoinWords(tags));
      }
    }
    if (!EqualsIgnoreCase(TrimSpaces(r.publisher), first_publisher)) {
      return Status::InvalidArgument("tiers disagree on Publisher: " + Quoted(first.publisher) +
                                     " vs " + Quoted(r.publisher));
    }
  }
  if (!lowest->tier_min.IsZero()) {
    return Status::InvalidArgument("lowest PricingTierRangeMin is " + lowest->tier_min.ToString() +
                                   ", not 0");
  }
  return Status::Ok();
}

}  // namespace meterd::rating
