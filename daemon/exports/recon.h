// The invoice reconciliation export (domain §7, §8.36, §8.40): per customer, meter and month up
// to two rows, one for the days whose lines earned PEC and one for the rest [001:13801-13807].
// Lines arrive in stored order, in which one customer-month-meter is contiguous, so a group is
// summed in constant memory and written as soon as the meter changes. Partners only (resellers
// get 403: this file is PEC information). A ReconWriter is a single-threaded value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/exports/daily_rated.h"
#include "daemon/exports/export_line.h"
#include "rating/civil_time.h"
#include "rating/decimal.h"
#include "rating/line_rating.h"

namespace meterd::exports {

// §8.36, in order.
extern const std::array<std::string_view, 17> kReconColumns;
// On the PEC row only [001:13803].
inline constexpr std::string_view kPecAdjustmentDescription =
    "Partner earned credit for services managed";

void AppendReconHeader(std::string* out);

class ReconWriter {
 public:
  ReconWriter() = default;

  // Adds a line of the customer-month being written. Unrated lines are not invoiced and are
  // skipped. When the line's meter differs from the previous line's, the previous meter's rows
  // are appended to `out` first. REQUIRES: lines of one customer and month, in stored order
  // (meter, date, entitlement, resource); `context` and its pointees outlive Finish().
  // Returns the number of rows appended.
  size_t Add(const LineContext& context, const ExportLine& line, std::string* out);
  // Appends the rows of the last meter and resets for the next customer-month.
  size_t Finish(std::string* out);

 private:
  struct Group {
    bool present = false;
    uint32_t day_mask = 0;  // bit d-1: day d of the month has a line in the group
    rating::Decimal quantity;
    rating::Decimal list_usd;
    rating::Decimal billed_usd;
    rating::Decimal billed_bc;
    rating::FxRate fx;
    bool fx_mixed = false;  // lines disagree on fx (only while a re-rating is under way)
    rating::CurrencyCode currency;
  };
  size_t WriteGroup(const Group& g, bool pec_applied, std::string* out) const;

  bool open_ = false;
  std::string meter_id_;
  rating::Month month_;
  const rating::Customer* customer_ = nullptr;
  const rating::TierTable* table_ = nullptr;  // of the meter's earliest rated line
  Group groups_[2];                           // [0]: no PEC, [1]: PEC applied
};

}  // namespace meterd::exports
