// Status and Result<T>: the error type of core and config.
//
// A Status is either OK or carries a human-readable message that names what
// went wrong and where (file, line, layer...), and a code saying what kind of
// failure it is, so that a caller far away (`lstmad serve` choosing its exit
// code) can tell "fix the input" from "try again later". Result<T> holds
// either a value or a non-OK Status. Both are cheap to move and have no
// thread affinity.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace lstmad::core {

enum class StatusCode : unsigned char {
  kOk,
  // A failure whose kind the caller's context decides (reading a model file:
  // bad input; writing a result: a run-time failure).
  kError,
  // Bad input or configuration: trying the same thing again fails the same way.
  kInvalid,
  // Something needed is not available now (a server unreachable, a port in
  // use): the same thing may well succeed later.
  kUnavailable,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message), StatusCode::kError); }
  static Status Invalid(std::string message) { return Status(std::move(message), StatusCode::kInvalid); }
  static Status Unavailable(std::string message) {
    return Status(std::move(message), StatusCode::kUnavailable);
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  bool IsInvalid() const { return code_ == StatusCode::kInvalid; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is prefixed with `context: `; the code is kept.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(context + ": " + message_, code_);
  }

 private:
  Status(std::string message, StatusCode code) : message_(std::move(message)), code_(code) {}
  std::string message_;
  StatusCode code_ = StatusCode::kOk;
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
