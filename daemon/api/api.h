// The HTTP API of api.md on top of the engine: authentication and scope in one place
// (Authorize), problem+json errors, JSON answers. Reads run on the I/O thread in short LMDB read
// transactions; blocking admin work (reference loads, budgets, tokens) runs on the control
// executor so no I/O thread ever waits for a commit. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/status.h"
#include "daemon/auth/access_policy.h"
#include "daemon/auth/token.h"
#include "daemon/auth/token_table.h"
#include "daemon/config/config.h"
#include "daemon/core/engine.h"
#include "daemon/http/request.h"
#include "daemon/http/responder.h"
#include "daemon/http/router.h"
#include "daemon/webhooks/webhooks.h"

namespace meterd::api {

struct ApiContext {
  core::Engine* engine = nullptr;
  storage::Env* env = nullptr;
  storage::Writer* writer = nullptr;
  auth::TokenTable* tokens = nullptr;
  const config::Config* config = nullptr;
  boost::asio::thread_pool* control = nullptr;  // one thread: blocking admin work
  // Parses usage bodies (POST /v1/usage). Off the I/O threads, so a multi-megabyte body being
  // parsed never delays a partner's read queued on the same I/O thread. Null: parse inline.
  boost::asio::thread_pool* ingest = nullptr;
  webhooks::WebhookService* webhooks = nullptr;
  // Executor for timers (alerts long-poll); set once the server exists.
  std::function<boost::asio::any_io_executor()> io_executor;
};

// Adds every /v1 route of api.md to the router.
Status RegisterRoutes(http::Router& router, ApiContext* context);

// Loads stored tokens into the table; on an empty store creates the bootstrap admin token and
// writes it to <data_dir>/admin.token (mode 0600). Returns the path written, if any.
Result<std::optional<std::string>> BootstrapTokens(ApiContext* context);

}  // namespace meterd::api
