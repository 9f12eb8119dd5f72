#include "daemon/exports/export_job.h"

#include <utility>

#include "daemon/core/reference_codec.h"
#include "daemon/exports/daily_rated.h"
#include "daemon/exports/focus.h"
#include "rating/price_sheet.h"
#include "storage/schema.h"

namespace meterd::exports {

std::string_view ExportFormatName(ExportFormat format) {
  switch (format) {
    case ExportFormat::kDailyRated:
      return "daily";
    case ExportFormat::kRecon:
      return "recon";
    case ExportFormat::kFocus:
      return "focus";
  }
  return "daily";
}

ExportJob::ExportJob(std::shared_ptr<const rating::ReferenceSnapshot> snapshot,
                     std::vector<const rating::Customer*> customers, ExportSpec spec,
                     size_t lines_per_chunk, size_t chunk_bytes)
    : snapshot_(std::move(snapshot)),
      customers_(std::move(customers)),
      spec_(spec),
      lines_per_chunk_(lines_per_chunk == 0 ? 1 : lines_per_chunk),
      chunk_bytes_(chunk_bytes == 0 ? 1 : chunk_bytes) {}

Result<bool> ExportJob::NextChunk(storage::Env* env, std::string* out) {
  if (done_) return true;
  if (!header_written_) {
    switch (spec_.format) {
      case ExportFormat::kDailyRated:
        AppendDailyRatedHeader(spec_.audience, out);
        break;
      case ExportFormat::kRecon:
        AppendReconHeader(out);
        break;
      case ExportFormat::kFocus:
        AppendFocusHeader(spec_.audience, out);
        break;
    }
    header_written_ = true;
  }
  Result<storage::ReadTxn> txn = env->BeginRead();
  if (!txn.ok()) return Status::Unavailable(txn.status().message());
  size_t budget = lines_per_chunk_;
  // Relative to what the caller already had in `out`, so every call makes progress.
  const size_t start_size = out->size();
  auto full = [&] { return budget == 0 || out->size() - start_size >= chunk_bytes_; };
  while (next_customer_ < customers_.size()) {
    if (full()) return false;
    if (!customer_open_) StartCustomer(customers_[next_customer_]);
    bool paused = false;
    bool corrupt = false;
    // resume_key_ is only read when the scan starts, so the callback may overwrite it.
    Status st = txn->Scan(storage::Db::kLines, resume_key_, storage::ScanBound::Prefix(prefix_),
                          [&](std::string_view key, std::string_view value) {
                            if (full()) {
                              resume_key_.assign(key);
                              paused = true;
                              return storage::ScanStep::kStop;
                            }
                            --budget;
                            ++lines_read_;
                            if (!ReadLine(*txn, key.substr(prefix_.size()), value, out)) {
                              corrupt = true;
                              return storage::ScanStep::kStop;
                            }
                            return storage::ScanStep::kContinue;
                          });
    if (!st.ok()) return st;
    if (corrupt)
      return Status::Corruption("undecodable line record under customer " +
                                customers_[next_customer_]->customer_id);
    if (paused) return false;
    FinishCustomer(out);
    ++next_customer_;
    // Even a customer without lines costs a seek: count it so a chunk stays bounded.
    if (budget > 0) --budget;
  }
  done_ = true;
  return true;
}

void ExportJob::StartCustomer(const rating::Customer* customer) {
  storage::KeyBuilder kb;
  storage::keys::LineMonthPrefix(&kb, customer->customer_id,
                                 static_cast<uint32_t>(spec_.month.index));
  prefix_.assign(kb.view());
  resume_key_ = prefix_;
  context_ = LineContext();
  context_.customer = customer;
  context_.partner = snapshot_->FindPartner(customer->partner_id);
  entitlement_cached_ = false;
  cached_meter_id_.clear();
  cached_date_ = rating::Date{-1};
  customer_open_ = true;
}

void ExportJob::FinishCustomer(std::string* out) {
  if (spec_.format == ExportFormat::kRecon) rows_written_ += recon_.Finish(out);
  customer_open_ = false;
}

bool ExportJob::ReadLine(const storage::ReadTxn& txn, std::string_view key_rest,
                         std::string_view value, std::string* out) {
  storage::KeyReader reader(key_rest);
  uint32_t day = 0;
  bool truncated = false;
  if (!reader.ReadString(&meter_id_) || !reader.ReadU32(&day) ||
      !reader.ReadString(&entitlement_id_) ||
      !reader.ReadTrailingString(&resource_uri_, &truncated)) {
    return false;
  }
  const rating::Date date{static_cast<int32_t>(day)};
  if (spec_.date && date != *spec_.date) return true;
  if (!core::DecodeLine(value, &line_).ok()) return false;
  if (!line_.resource_uri.empty()) resource_uri_ = line_.resource_uri;  // keys may truncate it
  // Every export holds rated lines only (§8.35, §8.37; unrated usage is not invoiced).
  if (!line_.rated.rated()) return true;

  if (!entitlement_cached_ || entitlement_id_ != cached_entitlement_id_) {
    context_.entitlement = snapshot_->FindEntitlement(entitlement_id_);
    cached_entitlement_id_ = entitlement_id_;
    entitlement_cached_ = true;
  }
  if (date != cached_date_ || meter_id_ != cached_meter_id_) {
    context_.table = snapshot_->FindTierTable(context_.customer->country, meter_id_, date);
    context_.price = DescribeTable(txn, context_.table);
    cached_meter_id_ = meter_id_;
    cached_date_ = date;
  }
  const ExportLine line{meter_id_, date, entitlement_id_, resource_uri_, &line_};
  switch (spec_.format) {
    case ExportFormat::kDailyRated:
      rows_written_ += AppendDailyRatedRow(context_, line, spec_.audience, out) ? 1 : 0;
      break;
    case ExportFormat::kFocus:
      rows_written_ += AppendFocusRow(context_, line, spec_.audience, out) ? 1 : 0;
      break;
    case ExportFormat::kRecon:
      rows_written_ += recon_.Add(context_, line, out);
      break;
  }
  return true;
}

const PriceDescription* ExportJob::DescribeTable(const storage::ReadTxn& txn,
                                                 const rating::TierTable* table) {
  if (table == nullptr) return nullptr;
  auto [it, inserted] = descriptions_.try_emplace(table);
  if (!inserted) return &it->second;
  // The snapshot keeps only what rating needs of a table; the other price-list columns are in
  // the stored row of its lowest tier (tier_min 0), in the CSV form core/reference_codec.h
  // writes. A missing or unreadable row leaves those cells empty rather than failing the export.
  storage::KeyBuilder kb;
  storage::keys::PriceRow(&kb, table->market, table->meter_id,
                          static_cast<uint32_t>(table->effective_start.days), 0, 0);
  std::string stored_row;
  if (!kb.ok() || !txn.Get(storage::Db::kReference, kb.view(), &stored_row).ok()) {
    return &it->second;
  }
  std::string csv(core::kPriceCsvHeader);
  csv.push_back('\n');
  csv.append(stored_row);
  Result<rating::PriceSheet> sheet = rating::ParsePriceSheet(csv);
  if (!sheet.ok() || sheet->rows.size() != 1) return &it->second;
  rating::PriceRow& row = sheet->rows.front();
  PriceDescription& d = it->second;
  d.product_id = std::move(row.product_id);
  d.sku_id = std::move(row.sku_id);
  d.meter_sub_category = std::move(row.meter_sub_category);
  d.meter_region = std::move(row.meter_region);
  d.publisher = std::move(row.publisher);
  return &d;
}

}  // namespace meterd::exports
