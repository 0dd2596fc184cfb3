// The exit codes by meaning: each Status code maps to its exit code, and a
// plain error takes the caller's stage default (bad input before serving, a
// run-time failure after), context or not.
#include "exit_codes.h"

#include <gtest/gtest.h>

namespace lstmad::tools {
namespace {

TEST(ExitCodesTest, ValuesAreTheDocumentedOnes) {
  EXPECT_EQ(kExitOk, 0);
  EXPECT_EQ(kExitFailure, 1);
  EXPECT_EQ(kExitBadInput, 2);
  EXPECT_EQ(kExitUnavailable, 69);  // EX_UNAVAILABLE in sysexits.h
}

TEST(ExitCodesTest, UnavailableIs69WhateverTheStage) {
  const core::Status s = core::Status::Unavailable("nats: connecting to nats.servers: No server available");
  EXPECT_EQ(ExitCodeFor(s, kExitBadInput), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(s, kExitFailure), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(s.WithContext("cannot listen for samples"), kExitFailure), kExitUnavailable);
}

TEST(ExitCodesTest, InvalidIsBadInputWhateverTheStage) {
  const core::Status s = core::Status::Invalid("ingest.listen: cannot resolve \"nohost\"");
  EXPECT_EQ(ExitCodeFor(s, kExitFailure), kExitBadInput);
  EXPECT_EQ(ExitCodeFor(s, kExitBadInput), kExitBadInput);
}

TEST(ExitCodesTest, PlainErrorTakesTheStageDefault) {
  const core::Status s = core::Status::Error("models[0].path: no such file");
  EXPECT_EQ(ExitCodeFor(s, kExitBadInput), kExitBadInput);
  EXPECT_EQ(ExitCodeFor(s, kExitFailure), kExitFailure);
}

TEST(ExitCodesTest, OkIsSuccess) { EXPECT_EQ(ExitCodeFor(core::Status::Ok(), kExitFailure), kExitOk); }

}  // namespace
}  // namespace lstmad::tools
