// ExtractFeatures' refusals: a value not finite as a float is `non_finite`; a
// finite one that the model's scaler takes beyond core::kMaxScaledMagnitude
// (issue 18: 1e20 overflowed the window's error and blinded the stream) is
// `out_of_range`, measured in the model's scale units, so the bound follows
// each feature's training data.
#include "ingest/sample_checks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/support/tiny_model.h"

namespace lstmad::daemon {
namespace {

// The tiny model with a standard scaler: feature a around 50 with std 10,
// feature b around 0 with std 1e-3.
std::shared_ptr<const ModelRuntime> ScaledModel(Metrics* metrics) {
  std::shared_ptr<const ModelSet> set = testing::TinyModelSet(metrics);
  auto runtime = std::make_shared<ModelRuntime>(*set->models[0]);
  runtime->model.scaler.kind = core::ScalerKind::kStandard;
  runtime->model.scaler.offset = {50.0, 0.0};
  runtime->model.scaler.scale = {10.0, 1e-3};
  return runtime;
}

std::optional<Refusal> Check(const ModelRuntime& model, const std::string& fields,
                             std::vector<float>* sample) {
  ParsedLine point;
  ParseError error;
  EXPECT_EQ(ParseLine("pump,id=x " + fields, &point, &error), ParseResult::kPoint) << fields;
  return ExtractFeatures(model, point, sample);
}

TEST(ExtractFeaturesTest, RefusesValuesTheModelCannotScore) {
  Metrics metrics("test");
  const std::shared_ptr<const ModelRuntime> model = ScaledModel(&metrics);
  std::vector<float> sample;
  // 1e15 scale units from the offset is the limit, inclusive: a = 50 + 1e16
  // (exact in double, as is (a - 50) / 10); b = 1e11 is 1e14 units.
  EXPECT_FALSE(Check(*model, "a=10000000000000050,b=1e11", &sample).has_value());
  EXPECT_EQ(sample, (std::vector<float>{static_cast<float>(1e16 + 50), 1e11f}));
  for (const char* fields : {"a=10000000000000070,b=0", "a=1e20,b=0", "a=-1e17,b=0", "a=50,b=2e12"}) {
    const std::optional<Refusal> r = Check(*model, fields, nullptr);
    ASSERT_TRUE(r.has_value()) << fields;
    EXPECT_EQ(r->reason, RejectReason::kOutOfRange) << fields;
  }
  const std::optional<Refusal> r = Check(*model, "a=1e20,b=0", nullptr);
  EXPECT_EQ(r->detail,
            "field \"a\" is 1e+20, beyond what model pump can score (1e+15 of its scale units from "
            "its training data)");
  EXPECT_EQ(std::string(RejectReasonName(r->reason)), "out_of_range");
  // Beyond float: non_finite, as before.
  EXPECT_EQ(Check(*model, "a=1e39,b=0", nullptr)->reason, RejectReason::kNonFinite);
}

TEST(ExtractFeaturesTest, WithoutAScalerTheBoundIsInRawUnits) {
  Metrics metrics("test");
  const std::shared_ptr<const ModelSet> set = testing::TinyModelSet(&metrics);  // identity scaler
  EXPECT_FALSE(Check(*set->models[0], "a=1e15,b=-1e15", nullptr).has_value());
  EXPECT_EQ(Check(*set->models[0], "a=1.1e15,b=0", nullptr)->reason, RejectReason::kOutOfRange);
}

TEST(ClassifyLineTest, AnUnknownMeasurementGetsTheNearestOneOffered) {
  Metrics metrics("test");
  std::shared_ptr<const ModelSet> set = testing::TinyModelSet(&metrics);
  ParsedLine point;
  ParseError error;
  const LineVerdict typo = ClassifyLine("pumpp,id=x a=1,b=2", *set, &point, &error);
  ASSERT_TRUE(typo.refused);
  EXPECT_EQ(typo.refused->reason, RejectReason::kUnknownMeasurement);
  EXPECT_EQ(typo.refused->detail, "no model for measurement \"pumpp\" (did you mean \"pump\"?)");
  EXPECT_EQ(typo.refused->measurement, "pumpp");
  const LineVerdict other = ClassifyLine("weather,id=x a=1,b=2", *set, &point, &error);
  ASSERT_TRUE(other.refused);
  EXPECT_EQ(other.refused->detail, "no model for measurement \"weather\"");
}

TEST(TimestampNsTest, AnOverflowNamesThePrecisionAndGuessesTheOneMeant) {
  ParsedLine point;
  ParseError error;
  int64_t ns = 0;
  // Nanoseconds sent to a listener in seconds.
  ASSERT_EQ(ParseLine("pump,id=x a=1 1714564800000000000", &point, &error), ParseResult::kPoint);
  std::optional<Refusal> r = TimestampNs(point, config::TimestampPrecision::kSeconds, &ns);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, RejectReason::kParseError);
  EXPECT_EQ(r->measurement, "pump");
  EXPECT_EQ(r->detail,
            "timestamp 1714564800000000000 out of range for ingest.precision s (signed 64-bit nanoseconds); it "
            "reads as 2024-05-01T12:00:00Z in ns: set ingest.precision: ns, or send s");
  // Milliseconds sent to a listener in seconds: ms is the coarsest unit that reads as a date.
  ASSERT_EQ(ParseLine("pump,id=x a=1 1714564800000", &point, &error), ParseResult::kPoint);
  r = TimestampNs(point, config::TimestampPrecision::kSeconds, &ns);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->detail,
            "timestamp 1714564800000 out of range for ingest.precision s (signed 64-bit nanoseconds); it reads as "
            "2024-05-01T12:00:00Z in ms: set ingest.precision: ms, or send s");
  // Nothing plausible: no guess.
  ASSERT_EQ(ParseLine("pump,id=x a=1 -9000000000000000000", &point, &error), ParseResult::kPoint);
  r = TimestampNs(point, config::TimestampPrecision::kMilliseconds, &ns);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->detail,
            "timestamp -9000000000000000000 out of range for ingest.precision ms (signed 64-bit nanoseconds)");
  // In range: no refusal.
  ASSERT_EQ(ParseLine("pump,id=x a=1 1714564800", &point, &error), ParseResult::kPoint);
  EXPECT_FALSE(TimestampNs(point, config::TimestampPrecision::kSeconds, &ns));
  EXPECT_EQ(ns, 1714564800000000000);
}

}  // namespace
}  // namespace lstmad::daemon
