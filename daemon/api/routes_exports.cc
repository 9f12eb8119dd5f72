// Partner exports (api.md "Exports", domain §7): GET /v1/exports/{daily,recon,focus}?month= over
// every customer the caller may see, and the daily-rated CSV form of GET
// /v1/customers/{id}/lines. Files are produced by exports::ExportJob in chunks of bounded LMDB
// reads; each chunk runs as its own task on the I/O executor, so a long export never holds a
// read transaction or an I/O thread for long. The HTTP layer has no streamed response yet, so
// the chunks are gathered into one body (memory grows with the file; docs/exports.md).
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/api/api_internal.h"
#include "daemon/exports/export_job.h"

namespace meterd::api::internal {
namespace {

using exports::ExportFormat;

constexpr std::string_view kCsvContentType = "text/csv; charset=utf-8";

exports::Audience AudienceOf(const auth::Principal& principal) {
  return auth::FieldVisibility::For(principal).wholesale() ? exports::Audience::kWholesale
                                                           : exports::Audience::kListOnly;
}

// One export being answered: the job, the file gathered so far and who to answer.
struct ExportRun {
  ApiContext* ctx = nullptr;
  std::unique_ptr<exports::ExportJob> job;
  std::string filename;
  std::string chunk;  // rows of the current step; reused
  std::string body;   // the whole file (until the HTTP layer can stream `chunk`)
  http::Responder responder;
};

void Answer(ExportRun& run) {
  http::Response response = http::Response::Text(200, kCsvContentType, std::move(run.body));
  response.WithHeader("Content-Disposition", "attachment; filename=\"" + run.filename + "\"");
  run.responder.Send(std::move(response));
}

// Runs one chunk, then re-posts itself (or answers). Only this step changes when the HTTP layer
// offers a streamed response: write `chunk` and continue once it has drained.
void Step(std::unique_ptr<ExportRun> run) {
  for (;;) {
    run->chunk.clear();
    Result<bool> done = run->job->NextChunk(run->ctx->env, &run->chunk);
    if (!done.ok()) return SendStatus(run->responder, done.status());
    if (run->body.empty()) {
      run->body = std::move(run->chunk);
    } else {
      run->body.append(run->chunk);
    }
    if (*done) return Answer(*run);
    if (!run->ctx->io_executor) continue;  // no server (tests): finish on this thread
    boost::asio::any_io_executor executor = run->ctx->io_executor();
    boost::asio::post(executor, [run = std::move(run)]() mutable { Step(std::move(run)); });
    return;
  }
}

void StartExport(ApiContext* ctx, std::unique_ptr<exports::ExportJob> job, std::string filename,
                 http::Responder responder) {
  auto run = std::make_unique<ExportRun>();
  run->ctx = ctx;
  run->job = std::move(job);
  run->filename = std::move(filename);
  run->responder = std::move(responder);
  Step(std::move(run));
}

void HandleExport(ApiContext* ctx, ExportFormat format, http::Request& req,
                  http::Responder responder) {
  // The reconciliation file is PEC information: resellers get 403 (§8.33).
  auth::Action action =
      format == ExportFormat::kRecon ? auth::Action::kReadReconExport : auth::Action::kReadExports;
  std::optional<auth::Principal> principal = Authorize(ctx, req, responder, action);
  if (!principal) return;
  std::optional<rating::Month> month = MonthParam(req, ctx->engine->Now(), responder);
  if (!month) return;
  std::shared_ptr<const rating::ReferenceSnapshot> snap = ctx->engine->snapshot();
  std::vector<const rating::Customer*> visible;
  for (const rating::Customer* c : snap->Customers()) {
    if (auth::MayAccessCustomer(*principal, *c)) visible.push_back(c);
  }
  exports::ExportSpec spec;
  spec.format = format;
  spec.month = *month;
  spec.audience = AudienceOf(*principal);
  std::string filename = "meterd-" + std::string(exports::ExportFormatName(format)) + "-" +
                         rating::FormatMonth(*month) + ".csv";
  StartExport(ctx, std::make_unique<exports::ExportJob>(std::move(snap), std::move(visible), spec),
              std::move(filename), std::move(responder));
}

}  // namespace

void RespondLinesCsv(ApiContext* ctx, const auth::Principal& principal,
                     const rating::Customer& customer, rating::Month month,
                     std::optional<rating::Date> date, http::Responder responder) {
  // The job must hold the snapshot its customer pointer lives in.
  std::shared_ptr<const rating::ReferenceSnapshot> snap = ctx->engine->snapshot();
  const rating::Customer* c = snap->FindCustomer(customer.customer_id);
  if (c == nullptr || !auth::MayAccessCustomer(principal, *c)) {
    return SendProblem(responder, 404, "no such customer");
  }
  exports::ExportSpec spec;
  spec.format = ExportFormat::kDailyRated;
  spec.month = month;
  spec.date = date;
  spec.audience = AudienceOf(principal);
  std::string filename = "meterd-lines-" + c->customer_id + "-" +
                         (date ? rating::FormatDate(*date) : rating::FormatMonth(month)) + ".csv";
  StartExport(ctx,
              std::make_unique<exports::ExportJob>(std::move(snap),
                                                   std::vector<const rating::Customer*>{c}, spec),
              std::move(filename), std::move(responder));
}

void RegisterExportRoutes(http::Router& router, ApiContext* ctx) {
  auto add = [&](std::string_view pattern, ExportFormat format) {
    Status st =
        router.Add(http::Verb::get, pattern, [ctx, format](http::Request& req, http::Responder r) {
          HandleExport(ctx, format, req, std::move(r));
        });
    if (!st.ok()) std::abort();  // a duplicate or malformed pattern is a programming error
  };
  add("/v1/exports/daily", ExportFormat::kDailyRated);
  add("/v1/exports/recon", ExportFormat::kRecon);
  add("/v1/exports/focus", ExportFormat::kFocus);
}

}  // namespace meterd::api::internal
