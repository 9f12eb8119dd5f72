#include "daemon/exports/export_job.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "daemon/core/reference_codec.h"
#include "rating/price_sheet.h"
#include "storage/schema.h"
#include "tests/daemon/exports/export_test_util.h"

namespace meterd::exports {
namespace {

using testing::Keyed;
using testing::ParseCsv;
using testing::RatedLine;

constexpr std::string_view kPriceSheet =
    "ProductId,SkuId,MeterId,MeterName,MeterCategory,MeterSubCategory,MeterRegion,UnitOfMeasure,"
    "Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,EffectiveStartDate,"
    "EffectiveEndDate,Tags,Publisher\n"
    "DZH318Z0BAND,0001,m-bw,Data Transfer Out,Bandwidth,Outbound,US East,1 GB,US,USD,0.10,0,10,"
    "2026-01-01,,Azure,Microsoft\n"
    "DZH318Z0BAND,0001,m-bw,Data Transfer Out,Bandwidth,Outbound,US East,1 GB,US,USD,0.08,10,,"
    "2026-01-01,,Azure,Microsoft\n"
    "DZH318Z0SQLX,0002,m-sql,vCore,SQL Database,,US West,1 Hour,US,USD,0.20,0,,2026-01-01,,Azure,"
    "Microsoft\n";

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "meterd-exports-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ExportJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::EnvOptions options;
    options.sync = storage::SyncMode::kNone;
    options.map_size = uint64_t{16} << 20;
    options.max_map_size = uint64_t{256} << 20;
    options.map_growth_step = uint64_t{16} << 20;
    options.growth_wait = std::chrono::milliseconds(50);
    auto env = storage::Env::Open(dir_.path(), options);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);

    rating::ReferenceBuilder b(nullptr);
    ASSERT_TRUE(
        b.UpsertPartner({"p1", "Partner One", "1111111", rating::PartnerKind::kDirect, true}).ok());
    for (std::string id : {"c1", "c2", "c3"}) {
      rating::Customer c;
      c.customer_id = id;
      c.name = "Customer " + id;
      c.country = "US";
      c.partner_id = "p1";
      ASSERT_TRUE(b.UpsertCustomer(c).ok());
      rating::Entitlement e;
      e.entitlement_id = "e-" + id;
      e.customer_id = id;
      e.description = "Subscription of " + id;
      ASSERT_TRUE(b.UpsertEntitlement(e).ok());
    }
    Result<rating::PriceSheet> sheet = rating::ParsePriceSheet(kPriceSheet);
    ASSERT_TRUE(sheet.ok());
    ASSERT_EQ(b.ApplyPriceUpload(*sheet).rejected, 0);
    snapshot_ = std::move(b).Build().snapshot;

    // The stored price rows, as the engine keeps them.
    Result<storage::WriteTxn> txn = env_->BeginWrite();
    ASSERT_TRUE(txn.ok());
    for (const rating::PriceRow& r : sheet->rows) {
      storage::KeyBuilder kb;
      auto nanos = static_cast<rating::uint128>(r.tier_min.nanos());
      storage::keys::PriceRow(&kb, r.market, r.meter_id,
                              static_cast<uint32_t>(r.effective_start.days),
                              static_cast<uint64_t>(nanos >> 64), static_cast<uint64_t>(nanos));
      ASSERT_TRUE(txn->Put(storage::Db::kReference, kb.view(), core::PriceRowToCsv(r)).ok());
    }
    ASSERT_TRUE(std::move(*txn).Commit().ok());

    // Lines: c1 and c2 in November (one unrated), c1 in October and December, c3 none.
    PutLine("c1", "m-bw", 2026, 11, 3, "e-c1", "/subscriptions/e-c1/resourcegroups/rg/vm1",
            RatedLine("4", "0.1", "0.4", "0.15"));
    PutLine("c1", "m-bw", 2026, 11, 3, "e-c1", "/subscriptions/e-c1/resourcegroups/rg/vm2",
            RatedLine("8", "0.095", "0.76", "0"));
    PutLine("c1", "m-bw", 2026, 11, 9, "e-c1", "/subscriptions/e-c1/resourcegroups/rg/vm1",
            RatedLine("2", "0.08", "0.16", "0.15"));
    PutLine("c1", "m-sql", 2026, 11, 1, "e-c1", "/subscriptions/e-c1/resourcegroups/db/s1",
            RatedLine("10", "0.2", "2", "0.15"));
    PutLine("c1", "m-sql", 2026, 11, 2, "e-c1", "/subscriptions/e-c1/resourcegroups/db/s1",
            RatedLine("10", "0.2", "2", "0.15"));
    PutLine("c1", "m-zzz", 2026, 11, 2, "e-c1", "/subscriptions/e-c1/x",
            testing::UnpricedLine("3"));
    PutLine("c2", "m-sql", 2026, 11, 30, "e-c2", "/subscriptions/e-c2/resourcegroups/db/s2",
            RatedLine("1.5", "0.2", "0.3", "0"));
    PutLine("c1", "m-bw", 2026, 10, 31, "e-c1", "/subscriptions/e-c1/resourcegroups/rg/vm1",
            RatedLine("1", "0.1", "0.1", "0"));
    PutLine("c1", "m-bw", 2026, 12, 1, "e-c1", "/subscriptions/e-c1/resourcegroups/rg/vm1",
            RatedLine("1", "0.1", "0.1", "0"));
  }

  void PutLine(std::string_view customer, std::string_view meter, int y, int m, int d,
               std::string_view ent, std::string_view resource, const core::StoredLine& line) {
    rating::Date date = rating::DateFromYmd(y, m, d);
    storage::KeyBuilder kb;
    storage::keys::Line(&kb, customer, static_cast<uint32_t>(rating::MonthOf(date).index), meter,
                        static_cast<uint32_t>(date.days), ent, resource);
    std::string value;
    core::EncodeLine(line, &value);
    Result<storage::WriteTxn> txn = env_->BeginWrite();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->Put(storage::Db::kLines, kb.view(), value).ok());
    ASSERT_TRUE(std::move(*txn).Commit().ok());
  }

  std::vector<const rating::Customer*> Customers(std::initializer_list<const char*> ids) {
    std::vector<const rating::Customer*> out;
    for (const char* id : ids) out.push_back(snapshot_->FindCustomer(id));
    return out;
  }

  ExportSpec Spec(ExportFormat format, std::optional<rating::Date> date = std::nullopt) {
    ExportSpec spec;
    spec.format = format;
    spec.month = rating::MonthFromYm(2026, 11);
    spec.date = date;
    return spec;
  }

  // Runs a job to the end; counts the chunks it took.
  std::string Run(ExportJob& job, int* chunks = nullptr) {
    std::string out;
    int n = 0;
    for (;;) {
      Result<bool> done = job.NextChunk(env_.get(), &out);
      EXPECT_TRUE(done.ok()) << done.status().ToString();
      ++n;
      if (!done.ok() || *done || n > 100000) break;
    }
    if (chunks) *chunks = n;
    return out;
  }

  std::string Export(ExportSpec spec, std::initializer_list<const char*> ids,
                     size_t lines_per_chunk = kDefaultLinesPerChunk, int* chunks = nullptr) {
    ExportJob job(snapshot_, Customers(ids), spec, lines_per_chunk);
    return Run(job, chunks);
  }

  TempDir dir_;
  std::unique_ptr<storage::Env> env_;
  std::shared_ptr<const rating::ReferenceSnapshot> snapshot_;
};

TEST_F(ExportJobTest, ExportsTheRatedLinesOfTheMonthOfEveryListedCustomerInStoredOrder) {
  testing::Rows rows = ParseCsv(Export(Spec(ExportFormat::kDailyRated), {"c1", "c2", "c3"}));
  ASSERT_EQ(rows.size(), 7u);  // header + 5 rated lines of c1 + 1 of c2
  std::vector<std::string> got;
  for (size_t i = 1; i < rows.size(); ++i) {
    auto r = Keyed(rows[0], rows[i]);
    got.push_back(r["CustomerId"] + " " + r["MeterId"] + " " + r["UsageDate"] + " " +
                  r["ResourceURI"]);
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     "c1 m-bw 2026-11-03 /subscriptions/e-c1/resourcegroups/rg/vm1",
                     "c1 m-bw 2026-11-03 /subscriptions/e-c1/resourcegroups/rg/vm2",
                     "c1 m-bw 2026-11-09 /subscriptions/e-c1/resourcegroups/rg/vm1",
                     "c1 m-sql 2026-11-01 /subscriptions/e-c1/resourcegroups/db/s1",
                     "c1 m-sql 2026-11-02 /subscriptions/e-c1/resourcegroups/db/s1",
                     "c2 m-sql 2026-11-30 /subscriptions/e-c2/resourcegroups/db/s2"}));
}

TEST_F(ExportJobTest, FillsReferenceColumnsFromTheSnapshotAndTheStoredPriceRows) {
  testing::Rows rows = ParseCsv(Export(Spec(ExportFormat::kDailyRated), {"c1"}));
  ASSERT_GE(rows.size(), 5u);
  auto bw = Keyed(rows[0], rows[1]);
  EXPECT_EQ(bw["PartnerName"], "Partner One");
  EXPECT_EQ(bw["MpnId"], "1111111");
  EXPECT_EQ(bw["CustomerName"], "Customer c1");
  EXPECT_EQ(bw["EntitlementDescription"], "Subscription of c1");
  EXPECT_EQ(bw["ProductId"], "DZH318Z0BAND");
  EXPECT_EQ(bw["SkuId"], "0001");
  EXPECT_EQ(bw["MeterName"], "Data Transfer Out");
  EXPECT_EQ(bw["MeterCategory"], "Bandwidth");
  EXPECT_EQ(bw["MeterSubCategory"], "Outbound");
  EXPECT_EQ(bw["MeterRegion"], "US East");
  EXPECT_EQ(bw["Unit"], "1 GB");
  EXPECT_EQ(bw["PublisherName"], "Microsoft");
  EXPECT_EQ(bw["PartnerEarnedCreditPercentage"], "15");
  auto sql = Keyed(rows[0], rows[4]);
  EXPECT_EQ(sql["ProductId"], "DZH318Z0SQLX");
  EXPECT_EQ(sql["SkuId"], "0002");
  EXPECT_EQ(sql["MeterRegion"], "US West");
  EXPECT_EQ(sql["MeterSubCategory"], "");
}

TEST_F(ExportJobTest, GivesTheSameBytesWhateverTheChunkSize) {
  for (ExportFormat format :
       {ExportFormat::kDailyRated, ExportFormat::kRecon, ExportFormat::kFocus}) {
    std::string whole = Export(Spec(format), {"c1", "c2", "c3"});
    for (size_t chunk : {1, 2, 3, 5, 7}) {
      int chunks = 0;
      EXPECT_EQ(Export(Spec(format), {"c1", "c2", "c3"}, chunk, &chunks), whole)
          << ExportFormatName(format) << " in chunks of " << chunk;
      EXPECT_GT(chunks, 1);
    }
  }
}

TEST_F(ExportJobTest, ReadsNoMoreThanTheChunkSizeOfLinesPerChunk) {
  ExportJob job(snapshot_, Customers({"c1", "c2", "c3"}), Spec(ExportFormat::kDailyRated), 2);
  std::string out;
  uint64_t before = 0;
  for (int i = 0; i < 100; ++i) {
    Result<bool> done = job.NextChunk(env_.get(), &out);
    ASSERT_TRUE(done.ok());
    EXPECT_LE(job.lines_read() - before, 2u);
    before = job.lines_read();
    if (*done) break;
  }
  EXPECT_TRUE(job.done());
  EXPECT_EQ(job.lines_read(), 7u);  // the November lines of c1 and c2, unrated one included
  EXPECT_EQ(job.rows_written(), 6u);
}

TEST_F(ExportJobTest, StopsAChunkOnceItHoldsTheByteCapAndStillGivesTheSameBytes) {
  // A streamed piece is bounded in bytes as well as lines: with a 1-byte cap every chunk after
  // the header's holds exactly one row (the row that crossed the cap), whatever the line count.
  for (ExportFormat format : {ExportFormat::kDailyRated, ExportFormat::kFocus}) {
    const std::string whole = Export(Spec(format), {"c1", "c2", "c3"});
    ExportJob job(snapshot_, Customers({"c1", "c2", "c3"}), Spec(format), kDefaultLinesPerChunk,
                  /*chunk_bytes=*/1);
    std::string all;
    int rows_in_chunks = 0;
    for (int i = 0; i < 100; ++i) {
      std::string chunk;
      Result<bool> done = job.NextChunk(env_.get(), &chunk);
      ASSERT_TRUE(done.ok());
      const size_t rows = static_cast<size_t>(std::count(chunk.begin(), chunk.end(), '\n'));
      EXPECT_LE(rows, i == 0 ? 2u : 1u) << ExportFormatName(format) << " chunk " << i;
      rows_in_chunks += static_cast<int>(rows);
      all += chunk;
      if (*done) break;
    }
    EXPECT_TRUE(job.done());
    EXPECT_EQ(all, whole) << ExportFormatName(format);
    EXPECT_EQ(rows_in_chunks, 7);  // header + 6 rated lines
  }
}

TEST_F(ExportJobTest, HoldsNoReadTransactionBetweenChunks) {
  ExportJob job(snapshot_, Customers({"c1", "c2"}), Spec(ExportFormat::kDailyRated), 1);
  std::string out;
  Result<bool> done = job.NextChunk(env_.get(), &out);
  ASSERT_TRUE(done.ok());
  ASSERT_FALSE(*done);
  // A map growth waits for every open transaction of the process: it succeeds at once only
  // when the job left none open.
  EXPECT_TRUE(env_->Grow(std::chrono::milliseconds(50)).ok());
  out += Run(job);
  EXPECT_EQ(ParseCsv(out).size(), 7u) << "the rest of the export follows";
}

TEST_F(ExportJobTest, PicksUpLinesWrittenBetweenChunks) {
  ExportJob job(snapshot_, Customers({"c1", "c2"}), Spec(ExportFormat::kDailyRated), 1);
  std::string out;
  ASSERT_TRUE(job.NextChunk(env_.get(), &out).ok());
  PutLine("c2", "m-bw", 2026, 11, 4, "e-c2", "/subscriptions/e-c2/late",
          RatedLine("1", "0.1", "0.1", "0"));
  out += Run(job);
  testing::Rows rows = ParseCsv(out);
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(Keyed(rows[0], rows[6])["ResourceURI"], "/subscriptions/e-c2/late");
}

TEST_F(ExportJobTest, ExportsOnlyTheListedCustomers) {
  testing::Rows rows = ParseCsv(Export(Spec(ExportFormat::kFocus), {"c2"}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(Keyed(rows[0], rows[1])["BillingAccountId"], "c2");
  EXPECT_EQ(ParseCsv(Export(Spec(ExportFormat::kFocus), {})).size(), 1u) << "header only";
}

TEST_F(ExportJobTest, KeepsOnlyTheLinesOfTheRequestedDay) {
  testing::Rows rows = ParseCsv(
      Export(Spec(ExportFormat::kDailyRated, rating::DateFromYmd(2026, 11, 3)), {"c1", "c2"}));
  ASSERT_EQ(rows.size(), 3u);
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(Keyed(rows[0], rows[i])["UsageDate"], "2026-11-03");
  }
}

TEST_F(ExportJobTest, AnswersWithTheHeaderAloneForAMonthWithoutUsage) {
  ExportSpec spec = Spec(ExportFormat::kRecon);
  spec.month = rating::MonthFromYm(2025, 1);
  std::string out = Export(spec, {"c1", "c2"});
  EXPECT_EQ(ParseCsv(out).size(), 1u);
  EXPECT_EQ(out.substr(0, 11), "CustomerId,");
}

TEST_F(ExportJobTest, ReconcilesPerCustomerMeterAndPecAcrossChunks) {
  testing::Rows rows = ParseCsv(Export(Spec(ExportFormat::kRecon), {"c1", "c2"}, 1));
  ASSERT_EQ(rows.size(), 5u);
  std::vector<std::string> got;
  for (size_t i = 1; i < rows.size(); ++i) {
    auto r = Keyed(rows[0], rows[i]);
    got.push_back(r["CustomerId"] + " " + r["MeterId"] + " " + r["PecApplied"] + " " + r["Days"] +
                  " " + r["Quantity"] + " " + r["PricingPreTaxTotal"]);
  }
  EXPECT_EQ(got,
            (std::vector<std::string>{"c1 m-bw false 3 8.000000000 0.760000000",
                                      "c1 m-bw true 3;9 6.000000000 0.476000000",  // 0.34 + 0.136
                                      "c1 m-sql true 1-2 20.000000000 3.400000000",
                                      "c2 m-sql false 30 1.500000000 0.300000000"}));
}

TEST_F(ExportJobTest, FocusBilledCostSumsToTheBilledAmountsOfTheLines) {
  testing::Rows rows = ParseCsv(Export(Spec(ExportFormat::kFocus), {"c1"}));
  rating::Decimal sum;
  for (size_t i = 1; i < rows.size(); ++i) sum += testing::D(Keyed(rows[0], rows[i])["BilledCost"]);
  // 0.34 + 0.76 + 0.136 + 1.7 + 1.7
  EXPECT_EQ(sum.ToString(), "4.636000000");
}

}  // namespace
}  // namespace meterd::exports
