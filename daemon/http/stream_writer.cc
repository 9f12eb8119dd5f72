#include "daemon/http/stream_writer.h"

#include <utility>

#include "daemon/http/connection.h"

namespace meterd::http {

StreamWriter::StreamWriter(std::shared_ptr<internal::StreamChannel> channel)
    : channel_(std::move(channel)) {}

StreamWriter& StreamWriter::operator=(StreamWriter&& other) noexcept {
  if (this != &other) {
    if (channel_ != nullptr) Abort();
    channel_ = std::move(other.channel_);
  }
  return *this;
}

StreamWriter::~StreamWriter() {
  if (channel_ != nullptr) Abort();
}

bool StreamWriter::wants_body() const { return channel_ != nullptr && channel_->body_wanted; }

void StreamWriter::Write(std::string piece, OnDrained on_drained) {
  if (channel_ == nullptr) {
    on_drained(Status::FailedPrecondition("the stream has already ended"), std::move(piece));
    return;
  }
  std::shared_ptr<Connection> connection = channel_->connection.lock();
  if (connection == nullptr) {
    on_drained(Status::Unavailable("the connection is closed"), std::move(piece));
    return;
  }
  connection->StreamWrite(channel_, std::move(piece), std::move(on_drained));
}

void StreamWriter::Finish() {
  const std::shared_ptr<internal::StreamChannel> channel = std::move(channel_);
  if (channel == nullptr) return;
  if (auto connection = channel->connection.lock()) connection->StreamFinish(channel);
}

void StreamWriter::Abort() {
  const std::shared_ptr<internal::StreamChannel> channel = std::move(channel_);
  if (channel == nullptr) return;
  if (auto connection = channel->connection.lock()) connection->StreamAbort(channel);
}

}  // namespace meterd::http
