// RemoteWriteClient: writes the per-stream series (lstmad_stream_*, the
// export series of models[].export included) back to a Prometheus
// remote_write receiver (remote_write_out), so that score history is stored
// rather than only scraped. Runs on its own thread: ingestion and /metrics
// never wait on it.
//
// Every `interval` it samples the series (one sample per series, stamped
// with the wall-clock time of sampling) into a bounded queue
// (max_queue_samples; when full the oldest samples are dropped and counted),
// and sends the queue in order, at most max_samples_per_send per request
// (remote write 1.0: snappy-compressed WriteRequest). A 2xx answer delivers
// the batch; 5xx, 429 and network errors are retried with exponential
// backoff (0.5 s doubling up to 30 s), the batch kept at the head of the
// queue; any other 4xx drops the batch (the receiver will never take it),
// counted. Counted in lstmad_remote_write_out_samples_total{outcome} and
// lstmad_remote_write_out_requests_total{result}; the queue's length is
// lstmad_remote_write_out_queue_samples. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alerting/http_client.h"
#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "obs/metrics.h"
#include "remote/write_request.h"

namespace prometheus {
struct MetricFamily;
class Counter;
class Gauge;
}  // namespace prometheus

namespace lstmad::daemon {

class RemoteWriteClient {
 public:
  // The series to write, as /metrics has them (Metrics::StreamSeriesFamilies).
  using CollectFn = std::function<std::vector<prometheus::MetricFamily>()>;
  // Sends one request body; the HTTP status, or an error when none came.
  using PostFn = std::function<core::Result<int>(const std::string& body)>;
  using NowMsFn = std::function<int64_t()>;

  // Writes `metrics`' per-stream series (Metrics::StreamSeriesFamilies) to
  // settings.url with its credentials; https:// goes through `tls`.
  RemoteWriteClient(const config::RemoteWriteOutSettings& settings, Metrics* metrics, TlsTransport tls);
  // With another source, transport and clock (tests); a null `post` posts
  // to settings.url, through `tls` for https://.
  RemoteWriteClient(const config::RemoteWriteOutSettings& settings, Metrics* metrics, CollectFn collect,
                    PostFn post, NowMsFn now_ms, TlsTransport tls = {});
  ~RemoteWriteClient();
  RemoteWriteClient(const RemoteWriteClient&) = delete;
  RemoteWriteClient& operator=(const RemoteWriteClient&) = delete;

  // Samples the series now and waits until the queue is empty or `budget`
  // has passed (shutdown: the last values are written too).
  void Flush(std::chrono::milliseconds budget);
  size_t queued() const;

 private:
  struct Queued {
    uint64_t seq;
    remote::Series series;  // one sample
  };
  void Loop();
  void Sample(std::unique_lock<std::mutex>* lock);
  void DropOldest(size_t count);
  core::Result<int> PostHttp(const std::string& body) const;

  config::RemoteWriteOutSettings settings_;
  CollectFn collect_;
  PostFn post_;
  NowMsFn now_ms_;
  TlsTransport tls_;
  HttpUrl url_;
  prometheus::Counter* sent_;
  prometheus::Counter* rejected_;
  prometheus::Counter* dropped_;
  prometheus::Counter* requests_ok_;
  prometheus::Counter* requests_retried_;
  prometheus::Counter* requests_rejected_;
  prometheus::Gauge* queue_gauge_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> queue_;
  uint64_t next_seq_ = 0;
  bool stop_ = false;
  int flush_requests_ = 0;  // Flush() calls waiting: sample now, do not back off
  std::thread thread_;
};

// The samples of `families` at `timestamp_ms`: one series per metric, its
// labels `__name__` and the metric's labels sorted by name (as the remote
// write spec asks); gauges and counters (other types are skipped).
std::vector<remote::Series> SeriesOfFamilies(const std::vector<prometheus::MetricFamily>& families,
                                             int64_t timestamp_ms);

}  // namespace lstmad::daemon
