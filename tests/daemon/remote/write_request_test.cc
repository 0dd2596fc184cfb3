// Prometheus remote write bodies: decoded from bytes built here by hand from
// the protobuf and snappy specifications (not by the libraries under test),
// refused with a reason when damaged, and encoded so that they decode back.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "remote/write_request.h"

namespace lstmad::daemon::remote {
namespace {

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}

// A length-delimited field (wire type 2).
std::string Bytes(int field, const std::string& payload) {
  return Varint(static_cast<uint64_t>(field) << 3 | 2) + Varint(payload.size()) + payload;
}

std::string Double(int field, double v) {
  char raw[8];
  std::memcpy(raw, &v, 8);
  return Varint(static_cast<uint64_t>(field) << 3 | 1) + std::string(raw, 8);
}

std::string Int(int field, int64_t v) {
  return Varint(static_cast<uint64_t>(field) << 3) + Varint(static_cast<uint64_t>(v));
}

// Snappy's block format with one literal (spec: format_description.txt):
// the uncompressed length as a varint, then literals of at most 60 bytes
// each with a one-byte tag ((length - 1) << 2).
std::string SnappyLiterals(const std::string& data) {
  std::string out = Varint(data.size());
  for (size_t at = 0; at < data.size(); at += 60) {
    const std::string piece = data.substr(at, 60);
    out += static_cast<char>((piece.size() - 1) << 2);
    out += piece;
  }
  return out;
}

std::string LabelField(const std::string& name, const std::string& value) {
  return Bytes(1, name) + Bytes(2, value);
}

// WriteRequest{timeseries: [{labels: [__name__=node_load1, instance=a:9100],
// samples: [{1.5, 1000}, {-2, 2000}]}, {labels: [__name__=up], samples: []}]}
std::string HandMadeRequest() {
  const std::string series1 = Bytes(1, LabelField("__name__", "node_load1")) + Bytes(1, LabelField("instance", "a:9100")) +
                              Bytes(2, Double(1, 1.5) + Int(2, 1000)) + Bytes(2, Double(1, -2) + Int(2, 2000));
  const std::string series2 = Bytes(1, LabelField("__name__", "up"));
  return Bytes(1, series1) + Bytes(1, series2);
}

TEST(WriteRequestTest, DecodesABodyBuiltFromTheSpecifications) {
  const Decoded decoded = DecodeWriteRequest(SnappyLiterals(HandMadeRequest()), 1 << 20);
  ASSERT_EQ(decoded.error, DecodeError::kNone) << decoded.message;
  ASSERT_EQ(decoded.series.size(), 2u);
  EXPECT_EQ(decoded.series[0].labels, (std::vector<Label>{{"__name__", "node_load1"}, {"instance", "a:9100"}}));
  EXPECT_EQ(decoded.series[0].samples, (std::vector<Sample>{{1.5, 1000}, {-2, 2000}}));
  EXPECT_EQ(decoded.series[1].labels, (std::vector<Label>{{"__name__", "up"}}));
  EXPECT_TRUE(decoded.series[1].samples.empty());
}

TEST(WriteRequestTest, SkipsFieldsItDoesNotKnow) {
  // Metadata (field 3 of WriteRequest) and exemplars (field 3 of TimeSeries).
  const std::string series = Bytes(1, LabelField("__name__", "x")) + Bytes(3, "exemplar bytes") +
                             Bytes(2, Double(1, 7) + Int(2, 5));
  const Decoded decoded =
      DecodeWriteRequest(SnappyLiterals(Bytes(1, series) + Bytes(3, Int(1, 1) + Bytes(2, "x"))), 1 << 20);
  ASSERT_EQ(decoded.error, DecodeError::kNone) << decoded.message;
  ASSERT_EQ(decoded.series.size(), 1u);
  EXPECT_EQ(decoded.series[0].samples, (std::vector<Sample>{{7, 5}}));
}

TEST(WriteRequestTest, RefusesDamagedBodiesWithTheirReason) {
  EXPECT_EQ(DecodeWriteRequest("", 1 << 20).error, DecodeError::kSnappy);
  EXPECT_EQ(DecodeWriteRequest("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 1 << 20).error, DecodeError::kSnappy);
  // A literal claiming more bytes than follow.
  std::string truncated = SnappyLiterals(HandMadeRequest());
  truncated.resize(truncated.size() - 5);
  EXPECT_EQ(DecodeWriteRequest(truncated, 1 << 20).error, DecodeError::kSnappy);
  // Valid snappy around bytes that are no WriteRequest (a field of wire type 7).
  const Decoded garbage = DecodeWriteRequest(SnappyLiterals("\x0f\x01\x02"), 1 << 20);
  EXPECT_EQ(garbage.error, DecodeError::kProtobuf);
  EXPECT_EQ(garbage.message, "the body is not a Prometheus remote write WriteRequest (protobuf)");
}

TEST(WriteRequestTest, RefusesBodiesOverTheLimitBeforeUncompressingThem) {
  const std::string body = SnappyLiterals(HandMadeRequest());
  const size_t size = HandMadeRequest().size();
  EXPECT_EQ(DecodeWriteRequest(body, size).error, DecodeError::kNone);
  const Decoded over = DecodeWriteRequest(body, size - 1);
  EXPECT_EQ(over.error, DecodeError::kTooLarge);
  EXPECT_EQ(over.message, "the body uncompresses to " + std::to_string(size) + " bytes, over the limit of " +
                              std::to_string(size - 1));
  // A header claiming 2 GiB is refused without allocating them.
  EXPECT_EQ(DecodeWriteRequest(Varint(uint64_t{1} << 31) + "\x00x", 1 << 20).error, DecodeError::kTooLarge);
}

TEST(WriteRequestTest, EncodesWhatItDecodes) {
  const std::vector<Series> series = {
      {{{"__name__", "lstmad_anomaly_score"}, {"model", "pump"}, {"site", "north"}}, {{0.25, 1700000000123}}},
      {{{"__name__", "lstmad_reconstruction_error_last"}}, {{1e-9, 1}, {std::numeric_limits<double>::infinity(), 2}}}};
  const Decoded decoded = DecodeWriteRequest(EncodeWriteRequest(series), 1 << 20);
  ASSERT_EQ(decoded.error, DecodeError::kNone) << decoded.message;
  EXPECT_EQ(decoded.series, series);
  // And byte for byte the hand-made encoding of the same request.
  const Decoded hand = DecodeWriteRequest(SnappyLiterals(HandMadeRequest()), 1 << 20);
  EXPECT_EQ(ParseWriteRequest(HandMadeRequest()).series, hand.series);
}

TEST(WriteRequestTest, TellsTheStaleMarkerFromOtherNaNs) {
  double stale;
  const uint64_t bits = kStaleNaNBits;
  std::memcpy(&stale, &bits, sizeof stale);
  EXPECT_TRUE(std::isnan(stale));
  EXPECT_TRUE(IsStaleMarker(stale));
  EXPECT_FALSE(IsStaleMarker(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(IsStaleMarker(1.0));
}

}  // namespace
}  // namespace lstmad::daemon::remote
