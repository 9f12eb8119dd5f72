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

StreamWriter Responder::StartStream(Response head) {
  const std::shared_ptr<internal::Exchange> exchange = std::move(exchange_);
  auto channel = std::make_shared<internal::StreamChannel>();
  if (exchange == nullptr) {
    channel->done = true;  // already answered: every Write fails
    return StreamWriter(std::move(channel));
  }
  const int status = head.status;
  channel->connection = exchange->connection;
  channel->body_wanted =
      exchange->request.method() != Verb::head && status >= 200 && status != 204 && status != 304;
  head.body.clear();
  if (auto connection = exchange->connection.lock()) {
    connection->DeliverStream(exchange->sequence, std::move(head), channel);
  } else {
    channel->done = true;
  }
  return StreamWriter(std::move(channel));
}

}  // namespace meterd::http
