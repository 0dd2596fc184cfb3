#include "remote/write_request.h"

#include <snappy.h>

#include <cstring>

#include "remote/remote_write.pb.h"

namespace lstmad::daemon::remote {

Decoded ParseWriteRequest(std::string_view protobuf) {
  Decoded out;
  pb::WriteRequest request;
  if (protobuf.size() > static_cast<size_t>(INT32_MAX) ||
      !request.ParseFromArray(protobuf.data(), static_cast<int>(protobuf.size()))) {
    out.error = DecodeError::kProtobuf;
    out.message = "the body is not a Prometheus remote write WriteRequest (protobuf)";
    return out;
  }
  out.series.reserve(static_cast<size_t>(request.timeseries_size()));
  for (const pb::TimeSeries& ts : request.timeseries()) {
    Series series;
    series.labels.reserve(static_cast<size_t>(ts.labels_size()));
    for (const pb::Label& label : ts.labels()) series.labels.push_back({label.name(), label.value()});
    series.samples.reserve(static_cast<size_t>(ts.samples_size()));
    for (const pb::Sample& sample : ts.samples()) series.samples.push_back({sample.value(), sample.timestamp()});
    out.series.push_back(std::move(series));
  }
  return out;
}

Decoded DecodeWriteRequest(std::string_view body, size_t max_uncompressed) {
  Decoded out;
  size_t length = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &length)) {
    out.error = DecodeError::kSnappy;
    out.message = "the body is not snappy-compressed (block format)";
    return out;
  }
  if (length > max_uncompressed) {
    out.error = DecodeError::kTooLarge;
    out.message = "the body uncompresses to " + std::to_string(length) + " bytes, over the limit of " +
                  std::to_string(max_uncompressed);
    return out;
  }
  std::string raw;
  if (!snappy::Uncompress(body.data(), body.size(), &raw)) {
    out.error = DecodeError::kSnappy;
    out.message = "the body's snappy compression is damaged";
    return out;
  }
  return ParseWriteRequest(raw);
}

std::string EncodeWriteRequest(const std::vector<Series>& series) {
  pb::WriteRequest request;
  for (const Series& s : series) {
    pb::TimeSeries* ts = request.add_timeseries();
    for (const Label& label : s.labels) {
      pb::Label* l = ts->add_labels();
      l->set_name(label.name);
      l->set_value(label.value);
    }
    for (const Sample& sample : s.samples) {
      pb::Sample* p = ts->add_samples();
      p->set_value(sample.value);
      p->set_timestamp(sample.timestamp_ms);
    }
  }
  const std::string raw = request.SerializeAsString();
  std::string compressed;
  snappy::Compress(raw.data(), raw.size(), &compressed);
  return compressed;
}

bool IsStaleMarker(double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return bits == kStaleNaNBits;
}

}  // namespace lstmad::daemon::remote
