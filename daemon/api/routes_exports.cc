// Partner exports (api.md "Exports", domain §7): GET /v1/exports/{daily,recon,focus}?month= over
// every customer the caller may see, and the daily-rated CSV form of GET
// /v1/customers/{id}/lines. Files are produced by exports::ExportJob in pieces of bounded LMDB
// reads (one short read transaction each) and streamed: a piece is made only once the previous
// one has been written to the socket, so the daemon holds one piece per export however large
// the file and however slow the client (docs/exports.md "Streaming").
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/api/api_internal.h"
#include "daemon/exports/export_job.h"
#include "daemon/lifecycle/log.h"

namespace meterd::api::internal {
namespace {

using exports::ExportFormat;

constexpr std::string_view kCsvContentType = "text/csv; charset=utf-8";

exports::Audience AudienceOf(const auth::Principal& principal) {
  return auth::FieldVisibility::For(principal).wholesale() ? exports::Audience::kWholesale
                                                           : exports::Audience::kListOnly;
}

// One export being answered. Shared by the pending write callback only (the channel holds
// that callback, the run holds the writer): whoever runs last frees it.
struct ExportRun {
  ApiContext* ctx = nullptr;
  std::unique_ptr<exports::ExportJob> job;
  std::string filename;
  std::string piece;  // rows of the current piece; handed to the writer and back
  http::StreamWriter writer;
};

void Continue(std::shared_ptr<ExportRun> run);

// Hands the piece in run->piece to the socket; continues (or ends) once it has drained.
void WritePiece(std::shared_ptr<ExportRun> run) {
  const bool last = run->job->done();
  std::string piece = std::move(run->piece);
  run->writer.Write(std::move(piece), [run, last](Status st, std::string buffer) mutable {
    if (!st.ok()) {
      // The client went away or stopped reading past the write deadline: nothing to answer.
      lifecycle::LogInfo("export " + run->filename + " not completed: " + st.message());
      run->writer.Abort();
      return;
    }
    run->piece = std::move(buffer);  // reuse its capacity for the next piece
    if (last) {
      run->writer.Finish();
      return;
    }
    Continue(std::move(run));
  });
}

// Produces the next piece (called on the connection's strand, from the drained callback).
void Continue(std::shared_ptr<ExportRun> run) {
  run->piece.clear();
  Result<bool> done = run->job->NextChunk(run->ctx->env, &run->piece);
  if (!done.ok()) {
    // Headers and earlier rows are out: a problem+json answer is no longer possible, and a
    // silently short file would look complete. Closing without the last chunk says "truncated".
    lifecycle::LogError("export " + run->filename + " aborted: " + done.status().ToString());
    run->writer.Abort();
    return;
  }
  WritePiece(std::move(run));
}

void StartExport(ApiContext* ctx, std::unique_ptr<exports::ExportJob> job, std::string filename,
                 http::Responder responder) {
  auto run = std::make_shared<ExportRun>();
  run->ctx = ctx;
  run->job = std::move(job);
  run->filename = std::move(filename);
  if (!AwaitFoldedStore(ctx, responder)) return;
  // The first piece is made before anything is sent, so a store that cannot be read still gets
  // a problem+json answer.
  Result<bool> done = run->job->NextChunk(ctx->env, &run->piece);
  if (!done.ok()) return SendStatus(responder, done.status());
  http::Response head = http::Response::Text(200, kCsvContentType, {});
  head.WithHeader("Content-Disposition", "attachment; filename=\"" + run->filename + "\"");
  run->writer = responder.StartStream(std::move(head));
  if (!run->writer.wants_body()) {  // HEAD
    run->writer.Finish();
    return;
  }
  WritePiece(std::move(run));
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
