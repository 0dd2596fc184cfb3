// Denormal (subnormal) floats flushed to zero, as TensorFlow's CPU kernels run
// (its thread pools set flush-to-zero and denormals-are-zero).
//
// Why: a window far beyond the training range saturates the LSTM's gates,
// their products fall below FLT_MIN, and every arithmetic operation on a
// denormal takes tens of cycles on x86. `lstmad score` on a T=30, F=8 model
// ran 1.6x slower on such data; in the daemon one stream's anomaly would slow
// the scoring of every stream in its batch. Flushed, the results change only
// where a value is below 1.2e-38, far inside every tolerance we check.
#pragma once

namespace lstmad::core {

// Sets flush-to-zero and denormals-are-zero for the calling thread while it
// lives, and restores the previous mode when it goes. Threads created while
// it is set start with the same mode (Linux copies the creating thread's
// floating-point state), so one at the top of main() covers the process.
// On CPUs other than x86-64 and AArch64 it does nothing (supported() false).
class FlushDenormals {
 public:
  FlushDenormals() noexcept;
  ~FlushDenormals();
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

  static bool supported() noexcept;

 private:
  unsigned long long previous_ = 0;
};

}  // namespace lstmad::core
