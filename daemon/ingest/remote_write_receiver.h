// RemoteWriteReceiver: what POST /api/v1/write does (Prometheus remote write
// 1.0, docs/prometheus.md "remote_write in"). It checks the headers, decodes
// the snappy-compressed WriteRequest within remote_write's limits, maps the
// series to the features of the models that select them
// (RemoteWriteMapping), assembles each stream's feature vectors
// (FeatureVectorBuffer), and hands every complete vector to the LineSink as
// the line-protocol line a Telegraf would have sent, so streams, tags as
// labels, limits and refusals are the TCP path's. Answers as Prometheus
// expects: 204 stored, 4xx for what a retry cannot fix, 503 while the
// scoring queue has no room (the sender retries later). Counts requests by
// code and reason, samples by outcome and reason. io thread only; not
// thread-safe (the sink's room notice is posted back to it).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/line_sink.h"
#include "ingest/remote_write_mapping.h"
#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "obs/logging.h"
#include "obs/metrics.h"
#include "scoring/model_runtime.h"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace lstmad::daemon {

class RemoteWriteReceiver {
 public:
  // Runs a function on the io thread later (asio::post); the sink's room
  // notices come from scoring threads.
  using Post = std::function<void(std::function<void()>)>;
  // The clock for FeatureVectorBuffer's idle streams (ms); tests set it.
  using Clock = std::function<int64_t()>;

  // The models' selections, checked against their features; an error names
  // the model and feature. Empty when no model has remote_write.
  static core::Result<RemoteWriteMapping> MappingOf(const ModelSet& models);

  RemoteWriteReceiver(LineSink* sink, Metrics* metrics, Post post, Clock clock = {});
  ~RemoteWriteReceiver();
  RemoteWriteReceiver(const RemoteWriteReceiver&) = delete;
  RemoteWriteReceiver& operator=(const RemoteWriteReceiver&) = delete;

  // Takes new settings and their mapping (from MappingOf). Pending partial
  // vectors are given up (counted incomplete). The metric families are
  // registered with the first mapping that is not empty.
  void Configure(const config::Settings& settings, RemoteWriteMapping mapping);
  // Whether any model reads remote_write; Handle only then.
  bool enabled() const { return !mapping_.empty(); }

  struct Request {
    std::optional<std::string_view> content_encoding, content_type, version;
    std::string_view body;
    std::string peer;
  };
  struct Reply {
    int status = 204;
    std::string body;          // why, for a refusal ("" for 204)
    bool retry_after = false;  // 503: send Retry-After
  };
  Reply Handle(const Request& request);

  // Shutdown: vectors held while the queue was full go in now, waiting for room.
  void Flush();

  uint64_t pending_samples() const { return buffer_.pending_samples(); }
  size_t held_lines() const { return held_.size(); }

 private:
  Reply Refuse(int status, std::string_view reason, std::string message, const std::string& peer);
  void Count(const FeatureVectorBuffer::Outcome& outcome);
  // Hands held lines to the sink until it stalls; true when none are left.
  bool Drain();

  LineSink* sink_;
  Metrics* metrics_;
  Post post_;
  Clock clock_;
  config::RemoteWriteSettings limits_;
  int64_t unit_ns_ = 1;
  double stream_expiry_s_ = 0;
  RemoteWriteMapping mapping_;
  FeatureVectorBuffer buffer_;
  int64_t last_sweep_ms_ = 0;
  // Lines of complete vectors the sink had no room for yet (at most one
  // request's: while any are held, requests get 503), and the sink's held work.
  std::deque<std::string> held_;
  LineSink::Stalled stalled_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  RateLimiter log_limiter_{5};
  // Reused per request: a series' targets, and the request's samples with
  // the target each feeds, to be sorted by time.
  struct TimedSample {
    int64_t timestamp_ms;
    double value;
    uint32_t target;  // index into request_targets_
  };
  std::vector<SeriesTarget> targets_;
  std::vector<SeriesTarget> request_targets_;
  std::vector<TimedSample> request_samples_;

  struct Counters;
  std::unique_ptr<Counters> counters_;
};

}  // namespace lstmad::daemon
