#include "cluster/cluster_forwarder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_set>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "cluster/cluster_batch.h"
#include "cluster/cluster_layout.h"
#include "ingest/ingestor.h"
#include "ingest/sample_checks.h"
#include "ingest/stream_table.h"

namespace lstmad::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// NATS limits a PUB line (subject, reply, sizes) to max_control_line, 4 KiB
// by default: a longer subject could never be published, so it is refused
// up front rather than retried for forward_timeout.
constexpr size_t kMaxSubjectBytes = 3072;
// A batch message stops growing before this many bytes: well under the
// servers' max_payload (1 MiB by default, 64 KiB in some deployments), so
// a batch is never refused for its size (one line alone always goes).
constexpr size_t kMaxBatchBytes = 60 * 1024;
constexpr auto kFirstBackoff = std::chrono::milliseconds(20);
constexpr auto kMaxBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxAttemptWait = std::chrono::milliseconds(2000);

bool TokenSafe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '=' ||
         c == ',' || c == '-';
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

std::string StreamToken(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size());
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (TokenSafe(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string InputSubject(std::string_view prefix, std::string_view measurement, std::string_view key) {
  std::string out(prefix);
  out += ".in.";
  out += StreamToken(measurement);
  out += '.';
  out += StreamToken(key);
  return out;
}

ClusterForwarder::ClusterForwarder(const config::Settings& settings, std::shared_ptr<const ModelSet> models,
                                   Metrics* metrics, Publish publish, std::string msg_id_prefix)
    : settings_(settings),
      models_(std::move(models)),
      metrics_(metrics),
      publish_(std::move(publish)),
      msg_id_prefix_(std::move(msg_id_prefix)),
      subject_prefix_(settings.nats ? settings.nats->subject_prefix : config::NatsSettings().subject_prefix),
      partitions_(settings.nats ? settings.nats->partitions : config::NatsSettings().partitions),
      batch_max_samples_(static_cast<uint32_t>(settings.nats ? settings.nats->batch_max_samples
                                                             : config::NatsSettings().batch_max_samples)),
      batch_max_delay_(static_cast<int64_t>(
          1e6 * (settings.nats ? settings.nats->batch_max_delay_s : config::NatsSettings().batch_max_delay_s))),
      timeout_(std::chrono::milliseconds(static_cast<int64_t>(
          1000 * (settings.nats ? settings.nats->forward_timeout_s : config::NatsSettings().forward_timeout_s)))),
      queue_(static_cast<size_t>(settings.nats ? settings.nats->forward_queue : config::NatsSettings().forward_queue),
             [this](size_t n) { queue_gauge_->Set(static_cast<double>(n)); }) {
  prometheus::Registry& r = *metrics->registry();
  auto& forwarded = prometheus::BuildCounter()
                        .Name("lstmad_cluster_forwarded_samples_total")
                        .Help("Lines accepted over TCP in cluster mode (nats.tcp_ingest: forward), by what became "
                              "of them: published (stored by JetStream), failed (not stored within "
                              "nats.forward_timeout, or left at shutdown), queue_full (refused: "
                              "nats.forward_queue lines were waiting).")
                        .Register(r);
  published_metric_ = &forwarded.Add({{"result", "published"}});
  failed_metric_ = &forwarded.Add({{"result", "failed"}});
  queue_full_metric_ = &forwarded.Add({{"result", "queue_full"}});
  queue_gauge_ = &prometheus::BuildGauge()
                      .Name("lstmad_cluster_forward_queue_lines")
                      .Help("Lines accepted over TCP waiting to be published to NATS.")
                      .Register(r)
                      .Add({});
}

ClusterForwarder::~ClusterForwarder() { Stop(); }

void ClusterForwarder::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void ClusterForwarder::Stop() {
  const auto deadline = Clock::now() + timeout_;
  stop_deadline_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count());
  queue_.Close();
  if (!thread_.joinable()) {
    // Never started (or already stopped): nothing will publish what is left.
    ForwardItem item;
    uint64_t dropped = 0;
    for (; queue_.Pop(&item); ++dropped) {
      ++failed_;
      failed_metric_->Increment();
    }
    if (dropped > 0) {
      Log(LogLevel::kError, "samples not forwarded: the forwarder never ran", {Field("lines", dropped)});
    }
    return;
  }
  thread_.join();
  Log(LogLevel::kInfo, "forwarder stopped",
      {Field("published", published_.load()), Field("failed", failed_.load()),
       Field("queue_full", queue_full_count_)});
}

void ClusterForwarder::Reload(const config::Settings& settings, std::shared_ptr<const ModelSet> models) {
  // The subject prefix, queue and timeout are nats: settings: restart only.
  settings_ = settings;
  models_ = std::move(models);
}

void ClusterForwarder::Reject(RejectReason reason, std::string_view line, const std::string& peer,
                              std::string_view detail, std::string_view measurement) {
  RecordRefusal(metrics_, &reject_log_limiter_, Refusal{reason, std::string(detail), std::string(measurement)}, line, peer);
}

void ClusterForwarder::LineTooLong(const std::string& peer) {
  Reject(RejectReason::kLineTooLong, {}, peer,
         "line longer than limits.max_line_bytes=" + std::to_string(settings_.limits.max_line_bytes) +
             "; closing the connection");
}

// The Ingestor's checks that do not depend on the stream's state (which lives
// at the partition's owner): the model's fields present, numeric and finite,
// the timestamp in range for the listener's precision.
bool ClusterForwarder::Validate(const ModelRuntime& model, std::string_view line, const std::string& peer) {
  int64_t ns = 0;
  std::optional<Refusal> refused = ExtractFeatures(model, parsed_, nullptr);
  if (!refused) refused = TimestampNs(parsed_, settings_.ingest.precision, &ns);
  if (refused) RecordRefusal(metrics_, &reject_log_limiter_, *refused, line, peer);
  return !refused;
}

void ClusterForwarder::HandleLine(std::string_view line, const std::string& peer, Stalled* stalled) {
  const LineVerdict verdict = ClassifyLine(line, *models_, &parsed_, &parse_error_);
  if (verdict.refused) return RecordRefusal(metrics_, &reject_log_limiter_, *verdict.refused, line, peer);
  if (verdict.model == nullptr) return;  // blank or comment
  if (!Validate(**verdict.model, line, peer)) return;
  parsed_.StreamKey(&key_);
  ForwardItem item;
  const std::string measurement_token = StreamToken(parsed_.measurement);
  const std::string key_token = StreamToken(key_);
  item.subject = subject_prefix_ + ".in." + measurement_token + "." + key_token;
  item.partition = SubjectPartition(measurement_token, key_token, partitions_);
  if (key_.size() > StreamTable::kMaxKeyBytes || item.subject.size() > kMaxSubjectBytes) {
    Reject(RejectReason::kTooManyStreams, line, peer,
           "stream key of " + std::to_string(key_.size()) + " bytes makes a NATS subject of " +
               std::to_string(item.subject.size()) + " bytes (at most " + std::to_string(kMaxSubjectBytes) + ")",
           parsed_.measurement);
    return;
  }
  while (!line.empty() && IsBlank(line.back())) line.remove_suffix(1);
  item.payload.assign(line);
  if (!parsed_.timestamp) {
    // The sample's time is when it reached this listener, as in single-node
    // mode, not when its partition's owner gets to it.
    const int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    item.payload += ' ';
    item.payload += std::to_string(now_ns / PrecisionToNs(settings_.ingest.precision));
  }
  item.msg_id = msg_id_prefix_ + "-" + std::to_string(next_id_++);
  if (stalled == nullptr) {
    if (!queue_.TryPush(item)) Refuse(item, peer);
    return;
  }
  if (queue_.TryPush(item, stalled->on_room)) return;
  if (queue_.closed()) return Refuse(item, peer);  // stopping: no room will come
  // The connection pauses (TCP slows its sender) and holds the line until
  // the publishing thread has made room; at shutdown it waits at most
  // forward_timeout for room.
  metrics_->ConnectionPauses().Increment();
  stalled->retry = [this, stalled, peer, item = std::move(item)](bool wait) mutable {
    const bool pushed = wait ? queue_.PushUntil(item, std::chrono::steady_clock::now() + timeout_)
                             : queue_.TryPush(item, stalled->on_room);
    if (pushed) return true;
    if (!wait && !queue_.closed()) return false;
    Refuse(item, peer);
    return true;
  };
}

void ClusterForwarder::Refuse(const ForwardItem& item, const std::string& peer) {
  ++queue_full_count_;
  queue_full_metric_->Increment();
  uint64_t suppressed = 0;
  if (full_log_limiter_.Allow(&suppressed)) {
    Log(LogLevel::kWarn, "sample not forwarded: nats.forward_queue is full (NATS slow or unreachable)",
        {Field("forward_queue", static_cast<int64_t>(queue_.capacity())), Field("peer", peer),
         Field("line", Snippet(item.payload)), Field("suppressed_since_last", suppressed)});
  }
}

void ClusterForwarder::Run() {
  std::vector<ForwardItem> batch;
  while (NextBatch(&batch)) PublishBatch(batch);
}

bool ClusterForwarder::NextBatch(std::vector<ForwardItem>* batch) {
  batch->clear();
  batch->reserve(kMaxBatch);
  ForwardItem item;
  if (carry_) {
    item = std::move(*carry_);
    carry_.reset();
  } else if (!queue_.Pop(&item)) {
    return false;
  }
  if (batch_max_samples_ > 1) {
    // open[p]: the index of partition p's message in this round, or -1.
    std::vector<int> open(static_cast<size_t>(partitions_), -1);
    AddToBatch(item, batch, &open);
    const auto deadline = Clock::now() + batch_max_delay_;
    while (queue_.TryPop(&item) || queue_.PopUntil(&item, deadline)) {
      if (!AddToBatch(item, batch, &open)) {
        carry_ = std::move(item);  // the partition's next message must wait for this one to be stored
        break;
      }
    }
    for (ForwardItem& message : *batch) {
      message.payload.insert(0, BatchHeaderLine(message.samples, message.msg_id));
    }
    return true;
  }
  // `streams` holds views into the batch's subjects: no reallocation may move them.
  batch->push_back(std::move(item));
  // A stream is one subject: the measurement and key tokens escape injectively.
  std::unordered_set<std::string_view> streams{batch->front().subject};
  while (batch->size() < kMaxBatch && queue_.TryPop(&item)) {
    if (streams.count(item.subject) != 0) {
      carry_ = std::move(item);  // its stream's earlier line must be stored first
      break;
    }
    batch->push_back(std::move(item));
    streams.insert(batch->back().subject);
  }
  return true;
}

bool ClusterForwarder::AddToBatch(ForwardItem& item, std::vector<ForwardItem>* batch, std::vector<int>* open) {
  int& index = (*open)[static_cast<size_t>(item.partition)];
  if (index < 0) {
    if (batch->size() >= kMaxBatch) return false;
    index = static_cast<int>(batch->size());
    ForwardItem& message = batch->emplace_back();
    message.subject = BatchSubject(subject_prefix_, item.partition);
    message.partition = item.partition;
    message.samples = 1;
    // The first line's id names the message; a retry resends it unchanged.
    message.msg_id = std::move(item.msg_id);
    message.payload = std::move(item.payload);
    return true;
  }
  ForwardItem& message = (*batch)[static_cast<size_t>(index)];
  if (message.samples >= batch_max_samples_ || message.payload.size() + 1 + item.payload.size() > kMaxBatchBytes) {
    return false;
  }
  ++message.samples;
  message.payload += '\n';
  message.payload += item.payload;
  return true;
}

void ClusterForwarder::PublishBatch(const std::vector<ForwardItem>& batch) {
  Clock::time_point deadline = Clock::now() + timeout_;
  if (const int64_t stop_ns = stop_deadline_ns_.load(); stop_ns != 0) {
    deadline = std::min(deadline, Clock::time_point(std::chrono::nanoseconds(stop_ns)));
  }
  std::vector<const ForwardItem*> pending;
  for (const ForwardItem& item : batch) pending.push_back(&item);
  std::vector<std::string> errors(batch.size(), "shutdown deadline passed before it was sent");
  auto backoff = std::chrono::duration_cast<Clock::duration>(kFirstBackoff);
  int attempts = 0;
  for (auto now = Clock::now(); !pending.empty() && now < deadline; now = Clock::now()) {
    const auto wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                                 std::chrono::milliseconds(1), kMaxAttemptWait);
    ++attempts;
    const std::vector<core::Status> results = publish_(pending, wait);
    std::vector<const ForwardItem*> failed;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (i < results.size() && results[i].ok()) {
        published_ += pending[i]->samples;
        published_metric_->Increment(pending[i]->samples);
      } else {
        errors[static_cast<size_t>(pending[i] - batch.data())] =
            i < results.size() ? results[i].message() : "no result from the publisher";
        failed.push_back(pending[i]);
      }
    }
    pending = std::move(failed);
    if (pending.empty()) return;
    // The failed lines are retried before any later line of their streams
    // (those wait for the next batch); the Msg-Id makes a line that was
    // stored but not acknowledged harmless.
    std::this_thread::sleep_for(std::min(backoff, std::max(Clock::duration::zero(), deadline - Clock::now())));
    backoff = std::min(backoff * 2, std::chrono::duration_cast<Clock::duration>(kMaxBackoff));
  }
  for (const ForwardItem* item : pending) {
    failed_ += item->samples;
    failed_metric_->Increment(item->samples);
    uint64_t suppressed = 0;
    if (fail_log_limiter_.Allow(&suppressed)) {
      Log(LogLevel::kError, "sample not forwarded: publishing to NATS failed",
          {Field("subject", item->subject), Field("samples", static_cast<int64_t>(item->samples)),
           Field("attempts", static_cast<int64_t>(attempts)),
           Field("error", errors[static_cast<size_t>(item - batch.data())]), Field("line", Snippet(item->payload)),
           Field("suppressed_since_last", suppressed)});
    }
  }
}

}  // namespace lstmad::daemon
