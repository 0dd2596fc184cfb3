// Start-up's wait for NATS: the backoff schedule (doubling from 250 ms to a
// 5 s cap, jitter keeping at least half of each step), and the retry loop
// over a fake clock: retried while kUnavailable, a permanent error returned
// at once, the deadline honoured with a message naming what was waited for,
// retries logged at most every log_every, a stop request ending the wait;
// which NATS failures at start count as transient (retried, exit 69).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "cluster/cluster_nats.h"
#include "cluster/cluster_startup.h"
#include "daemon/support/log_writers.h"
#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

using std::chrono::milliseconds;
using testing::CapturingLog;
using Clock = std::chrono::steady_clock;

std::vector<int64_t> Schedule(const BackoffPolicy& p, int n, double jitter) {
  std::vector<int64_t> out;
  for (int i = 1; i <= n; ++i) out.push_back(BackoffDelay(p, i, jitter).count());
  return out;
}

TEST(BackoffDelayTest, DoublesFromInitialUpToTheCap) {
  const BackoffPolicy p;  // 250 ms, 5 s
  EXPECT_EQ(Schedule(p, 8, 1.0), (std::vector<int64_t>{250, 500, 1000, 2000, 4000, 5000, 5000, 5000}));
}

TEST(BackoffDelayTest, JitterKeepsAtLeastHalfOfTheStep) {
  const BackoffPolicy p;
  EXPECT_EQ(Schedule(p, 7, 0.0), (std::vector<int64_t>{125, 250, 500, 1000, 2000, 2500, 2500}));
  EXPECT_EQ(Schedule(p, 3, 0.5), (std::vector<int64_t>{187, 375, 750}));
  // Out of range jitter is clamped, not extrapolated.
  EXPECT_EQ(BackoffDelay(p, 1, -3.0).count(), 125);
  EXPECT_EQ(BackoffDelay(p, 1, 7.0).count(), 250);
}

TEST(BackoffDelayTest, ManyFailuresStayAtTheCapWithoutOverflow) {
  const BackoffPolicy p;
  EXPECT_EQ(BackoffDelay(p, 1000000, 1.0).count(), 5000);
  EXPECT_EQ(BackoffDelay(BackoffPolicy{milliseconds(9000), milliseconds(2000)}, 1, 1.0).count(), 2000);
  EXPECT_EQ(BackoffDelay(p, 0, 1.0).count(), 250);  // before any failure: the first step
}

class RetryAtStartTest : public ::testing::Test {
 protected:
  RetryAtStartTest() {
    SetLogWriter(&log_);
    retry_.what = "NATS (stream S)";
    retry_.timeout = std::chrono::seconds(3);
    retry_.now = [this] { return now_; };
    retry_.jitter = [] { return 1.0; };
    retry_.sleep = [this](milliseconds d) {
      sleeps_.push_back(d.count());
      now_ += d;
      if (stop_after_sleeps_ > 0 && static_cast<int>(sleeps_.size()) >= stop_after_sleeps_)
        stop_.request_stop();
      return !stop_.stop_requested();
    };
  }
  ~RetryAtStartTest() override { SetLogWriter(nullptr); }

  // Fails kUnavailable `failures` times (each taking `took`), then succeeds.
  std::function<core::Status()> FailingThenOk(int failures, milliseconds took = milliseconds(0)) {
    return [this, failures, took] {
      ++attempts_;
      now_ += took;
      if (attempts_ <= failures) return core::Status::Unavailable("nats: boom " + std::to_string(attempts_));
      return core::Status::Ok();
    };
  }

  CapturingLog log_;
  StartupRetry retry_;
  Clock::time_point now_{};
  std::vector<int64_t> sleeps_;
  int attempts_ = 0;
  int stop_after_sleeps_ = 0;
  std::stop_source stop_;
};

TEST_F(RetryAtStartTest, RetriesUnavailableUntilItSucceeds) {
  const core::Status s = RetryAtStart(retry_, stop_.get_token(), FailingThenOk(3));
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(attempts_, 4);
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{250, 500, 1000}));
  // The first retry is logged; the next two come within log_every of it.
  EXPECT_EQ(log_.Count("not ready yet; retrying"), 1);
  EXPECT_EQ(log_.Count("error=\"nats: boom 1\""), 1);
  EXPECT_EQ(log_.Count("ready after retrying"), 1);
}

TEST_F(RetryAtStartTest, FirstAttemptSucceedingLogsNothing) {
  EXPECT_TRUE(RetryAtStart(retry_, stop_.get_token(), FailingThenOk(0)).ok());
  EXPECT_EQ(attempts_, 1);
  EXPECT_TRUE(sleeps_.empty());
  EXPECT_EQ(log_.Count("retrying"), 0);
}

TEST_F(RetryAtStartTest, APermanentErrorIsReturnedAtOnce) {
  int calls = 0;
  const core::Status s = RetryAtStart(retry_, stop_.get_token(), [&] {
    ++calls;
    return core::Status::Error("nats: creating stream S: stream name already in use");
  });
  EXPECT_EQ(s.code(), core::StatusCode::kError);
  EXPECT_EQ(s.message(), "nats: creating stream S: stream name already in use");
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(RetryAtStartTest, GivesUpAtTheDeadlineNamingWhatItWaitedFor) {
  const core::Status s = RetryAtStart(retry_, stop_.get_token(), FailingThenOk(1000));
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable);
  // 250 + 500 + 1000, then the 2 s step is cut to the 1.25 s left: the
  // fifth attempt starts at the deadline and is the last.
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{250, 500, 1000, 1250}));
  EXPECT_EQ(attempts_, 5);
  EXPECT_EQ(s.message(),
            "NATS (stream S) not ready after 3.0 s (5 attempts, nats.startup_timeout 3.0 s); last error: "
            "nats: boom 5");
}

TEST_F(RetryAtStartTest, RetriesAreLoggedAtMostEveryLogEvery) {
  retry_.timeout = std::chrono::seconds(60);
  retry_.log_every = milliseconds(5000);
  // Each attempt takes 1 s: failures at 1, 2.25, 3.75, 5.75, 8.75, 13.75
  // and 19.75 s; logged at 1, 8.75, 13.75 and 19.75 s.
  const core::Status s = RetryAtStart(retry_, stop_.get_token(), FailingThenOk(7, milliseconds(1000)));
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(attempts_, 8);
  EXPECT_EQ(sleeps_, (std::vector<int64_t>{250, 500, 1000, 2000, 4000, 5000, 5000}));
  EXPECT_EQ(log_.Count("not ready yet; retrying"), 4);
}

TEST_F(RetryAtStartTest, AStopRequestEndsTheWait) {
  stop_after_sleeps_ = 2;
  const core::Status s = RetryAtStart(retry_, stop_.get_token(), FailingThenOk(1000));
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "stopped while waiting for NATS (stream S)");
  EXPECT_EQ(attempts_, 2);
  // Stopped before it starts: no attempt at all.
  attempts_ = 0;
  EXPECT_EQ(RetryAtStart(retry_, stop_.get_token(), FailingThenOk(0)).message(),
            "stopped while waiting for NATS (stream S)");
  EXPECT_EQ(attempts_, 0);
}

TEST(InterruptibleSleepTest, SleepsOrWakesOnAStopRequest) {
  std::stop_source stop;
  auto sleep = InterruptibleSleep(stop.get_token());
  EXPECT_TRUE(sleep(milliseconds(5)));
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    stop.request_stop();
  });
  const auto start = Clock::now();
  EXPECT_FALSE(sleep(milliseconds(60000)));
  stopper.join();
  // Woken by the request, not the minute (a generous bound for a loaded machine).
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(20));
  EXPECT_FALSE(sleep(milliseconds(60000)));  // already stopped: returns at once
}

TEST(TransientStartErrorTest, NoServerOrJetStreamNotReadyIsTransient) {
  const auto none = static_cast<jsErrCode>(0);
  EXPECT_TRUE(TransientStartError(NATS_NO_SERVER, none, ""));
  EXPECT_TRUE(TransientStartError(NATS_TIMEOUT, none, ""));  // a stream lookup nobody answered
  EXPECT_TRUE(TransientStartError(NATS_NO_RESPONDERS, none, ""));
  EXPECT_TRUE(TransientStartError(NATS_ERR, JSClusterNotAvailErr, ""));
  EXPECT_TRUE(TransientStartError(NATS_ERR, JSClusterNoPeersErr, ""));
  EXPECT_TRUE(TransientStartError(NATS_ERR, JSStreamOfflineErr, ""));
  // js_CreateKeyValue keeps only the server's description.
  EXPECT_TRUE(TransientStartError(NATS_ERR, none, "JetStream system temporarily unavailable"));
  EXPECT_TRUE(TransientStartError(NATS_ERR, none, "no suitable peers for placement"));
  EXPECT_TRUE(TransientStartError(NATS_ERR, none, "insufficient resources"));
}

TEST(TransientStartErrorTest, WhatNoRetryFixesIsNot) {
  const auto none = static_cast<jsErrCode>(0);
  EXPECT_FALSE(TransientStartError(NATS_NOT_PERMITTED, none, "Authorization Violation"));
  EXPECT_FALSE(TransientStartError(NATS_SSL_ERROR, none, ""));
  EXPECT_FALSE(TransientStartError(NATS_ERR, JSStreamNameExistErr, "stream name already in use"));
  EXPECT_FALSE(
      TransientStartError(NATS_ERR, none, "stream name already in use with a different configuration"));
  // A description is only trusted where the code was dropped.
  EXPECT_FALSE(TransientStartError(NATS_ERR, JSStreamSubjectOverlapErr, "insufficient resources"));
}

}  // namespace
}  // namespace lstmad::daemon
