// Tests of core/status.h: the codes of Status and Result, kept through context.
#include "lstmad/core/status.h"

#include <gtest/gtest.h>

namespace lstmad::core {
namespace {

TEST(StatusTest, OkHasCodeOkAndNoMessage) {
  const Status s = Status::Ok();
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_FALSE(s.IsInvalid());
  EXPECT_FALSE(s.IsUnavailable());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, EachFactoryCarriesItsCode) {
  EXPECT_EQ(Status::Error("e").code(), StatusCode::kError);
  EXPECT_EQ(Status::Invalid("i").code(), StatusCode::kInvalid);
  EXPECT_EQ(Status::Unavailable("u").code(), StatusCode::kUnavailable);
  EXPECT_FALSE(Status::Error("e").ok());
  EXPECT_FALSE(Status::Error("e").IsInvalid());
  EXPECT_FALSE(Status::Error("e").IsUnavailable());
  EXPECT_TRUE(Status::Invalid("i").IsInvalid());
  EXPECT_FALSE(Status::Invalid("i").IsUnavailable());
  EXPECT_TRUE(Status::Unavailable("u").IsUnavailable());
  EXPECT_FALSE(Status::Unavailable("u").IsInvalid());
}

TEST(StatusTest, WithContextPrefixesTheMessageAndKeepsTheCode) {
  const Status s = Status::Unavailable("connection refused").WithContext("nats").WithContext("cluster");
  EXPECT_EQ(s.message(), "cluster: nats: connection refused");
  EXPECT_TRUE(s.IsUnavailable());
  EXPECT_TRUE(Status::Invalid("bad port").WithContext("ingest.listen").IsInvalid());
  EXPECT_EQ(Status::Error("x").WithContext("y").code(), StatusCode::kError);
}

TEST(StatusTest, WithContextLeavesOkAlone) {
  const Status s = Status::Ok().WithContext("ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, ResultCarriesTheCodeOfItsError) {
  const Result<int> r = Status::Unavailable("port 9108 in use");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_EQ(r.status().message(), "port 9108 in use");
}

Status PassesThrough(Status inner) {
  LSTMAD_RETURN_IF_ERROR(inner);
  return Status::Error("not reached");
}

TEST(StatusTest, ReturnIfErrorPropagatesTheCode) {
  EXPECT_TRUE(PassesThrough(Status::Unavailable("down")).IsUnavailable());
  EXPECT_EQ(PassesThrough(Status::Ok()).message(), "not reached");
}

}  // namespace
}  // namespace lstmad::core
