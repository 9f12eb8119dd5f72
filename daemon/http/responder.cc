#include "daemon/http/responder.h"

#include "daemon/http/connection.h"
#include "daemon/http/problem.h"

namespace meterd::http {

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (exchange_ != nullptr) Responder dropped(std::move(*this));  // answers 500
    exchange_ = std::move(other.exchange_);
  }
  return *this;
}

Responder::~Responder() {
  if (exchange_ == nullptr) return;
  if (auto connection = exchange_->connection.lock()) {
    connection->Deliver(exchange_->sequence,
                        MakeProblem(500, "the server could not complete the request"),
                        /*unanswered=*/true);
  }
}

void Responder::Send(Response response) {
  const std::shared_ptr<internal::Exchange> exchange = std::move(exchange_);
  if (exchange == nullptr) return;
  if (auto connection = exchange->connection.lock()) {
    connection->Deliver(exchange->sequence, std::move(response));
  }
}

}  // namespace meterd::http
