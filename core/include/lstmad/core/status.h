// Status and Result<T>: the error type of core and config.
//
// A Status is either OK or carries a human-readable message that names what
// went wrong and where (file, line, layer...). Result<T> holds either a value
// or a non-OK Status. Both are cheap to move and have no thread affinity.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace lstmad::core {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message), true); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Error(context + ": " + message_);
  }

 private:
  Status(std::string message, bool failed) : message_(std::move(message)), failed_(failed) {}
  std::string message_;
  bool failed_ = false;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "a Result built from a Status must carry an error");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }
  const T& operator*() const& { return *value_; }
  T& operator*() & { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace lstmad::core

// Propagates a non-OK Status out of the current function.
#define LSTMAD_RETURN_IF_ERROR(expr)            \
  do {                                          \
    ::lstmad::core::Status status_ = (expr);    \
    if (!status_.ok()) return status_;          \
  } while (false)
