#include "cluster/cluster_partition.h"

#include <algorithm>
#include <cstring>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "cluster/cluster_batch.h"
#include "cluster/cluster_layout.h"
#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

constexpr std::chrono::milliseconds kFetchWait{200};
constexpr int kFinalCheckpointTries = 3;

std::chrono::steady_clock::duration Seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

PartitionWorker::PartitionWorker(int partition, ClusterShared* shared)
    : partition_(partition),
      shared_(shared),
      peer_("nats partition " + std::to_string(partition)),
      ledger_(shared->backend->state(), partition, shared->instance_id, shared->backend->max_payload(),
              shared->cluster_metrics, PartitionStream(shared->nats.stream, shared->nats.streams, partition),
              shared->nats.stream),
      consumer_(shared->backend->Consumer(partition)) {}

PartitionWorker::~PartitionWorker() { Stop(false); }

void PartitionWorker::Start() { thread_ = std::thread([this] { Run(); }); }

void PartitionWorker::Stop(bool graceful) {
  graceful_ = graceful;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void PartitionWorker::Reload(const config::Settings& settings, std::shared_ptr<const ModelSet> models) {
  std::lock_guard lock(ingest_mu_);  // no new windows of this partition meanwhile
  if (!ingestor_) return;
  const std::vector<DroppedStreams> dropped = ingestor_->Reload(settings, std::move(models));
  if (dropped.empty()) return;
  // As in single-node mode (app/daemon.cc): the streams of a reshaped or
  // removed model resolve their alerts and lose their series, once the
  // windows queued for them are scored.
  shared_->scorer->Drain();
  for (const DroppedStreams& d : dropped) {
    const size_t resolved = shared_->scorer->Retire(d);
    Log(LogLevel::kInfo, "streams reset",
        {Field("partition", partition_), Field("model", d.model), Field("reason", d.reason),
         Field("streams", static_cast<int64_t>(d.streams)), Field("resolved_alerts", static_cast<int64_t>(resolved))});
  }
}

std::map<std::string, size_t> PartitionWorker::StreamsByModel() {
  std::map<std::string, size_t> out;
  std::lock_guard lock(ingest_mu_);  // no new windows of this partition meanwhile
  if (!ingestor_) return out;
  shared_->scorer->Drain();  // Save() reads alert states the scoring workers own
  for (const StreamSnapshot& s : ingestor_->Save()) ++out[s.model];
  return out;
}

void PartitionWorker::Run() {
  if (core::Status s = TakeOver(); !s.ok()) {
    shared_->cluster_metrics->nats_errors->Increment();
    Log(LogLevel::kError, "partition takeover failed; giving the lease back",
        {Field("partition", partition_), Field("error", s.message())});
    DropStreams();
    exited_ = true;
    return;
  }
  last_checkpoint_ = std::chrono::steady_clock::now();
  const auto interval = Seconds(shared_->nats.checkpoint_interval_s);
  const int64_t ack_budget = std::max<int64_t>(1, shared_->nats.max_ack_pending / 2);
  while (!stop_ && !fenced_) {
    FetchAndApply();
    if (std::chrono::steady_clock::now() - last_checkpoint_ >= interval || unacked_count_ >= ack_budget) {
      if (SaveCheckpoint() == Commit::kFenced) fenced_ = true;
    }
  }
  if (graceful_ && !fenced_) {
    for (int i = 0; i < kFinalCheckpointTries; ++i) {
      const Commit c = SaveCheckpoint();
      if (c != Commit::kRetry) break;
    }
  }
  if (fenced_) {
    Log(LogLevel::kWarn, "partition taken over by another instance; dropping it",
        {Field("partition", partition_)});
  }
  consumer_->Unsubscribe();
  subscribed_ = false;
  unacked_.reset();  // not acknowledged: the next owner starts after our last checkpoint
  DropStreams();
  exited_ = true;
}

core::Status PartitionWorker::TakeOver() {
  std::unique_ptr<Ingestor> ingestor;
  {
    std::lock_guard lock(shared_->mu);
    ingestor = std::make_unique<Ingestor>(shared_->settings, shared_->models, shared_->scorer, shared_->metrics);
  }
  {
    std::lock_guard lock(ingest_mu_);  // Reload and StreamsByModel look at it from other threads
    ingestor_ = std::move(ingestor);
  }
  Checkpoint checkpoint;
  LSTMAD_RETURN_IF_ERROR(ledger_.TakeOver(consumer_.get(), &checkpoint));
  redelivery_bound_ = std::max(checkpoint.delivered, checkpoint.sequence);
  const uint64_t sequence = checkpoint.sequence;
  size_t restored = 0;
  std::vector<AlertEvent> firing;
  {
    std::lock_guard lock(ingest_mu_);
    restored = ingestor_->Restore(checkpoint.streams, &firing);
  }
  // The alert state machines moved here; so does re-sending their alerts.
  if (shared_->alertmanager != nullptr) shared_->alertmanager->Reannounce(firing);
  // The checkpoint is fenced and restored: from here on the partition is
  // ours, so a consumer that cannot be created yet (JetStream electing a
  // leader after a node loss) is retried rather than handed back.
  core::Status consumer = RecreateConsumer(sequence, true);
  while (!consumer.ok() && !stop_) {
    shared_->cluster_metrics->nats_errors->Increment();
    Log(LogLevel::kWarn, "creating the partition's consumer failed; retrying",
        {Field("partition", partition_), Field("error", consumer.message())});
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    consumer = RecreateConsumer(sequence, true);
  }
  LSTMAD_RETURN_IF_ERROR(consumer);
  applied_seq_ = saved_seq_ = sequence;
  Log(LogLevel::kInfo, "partition acquired",
      {Field("partition", partition_), Field("checkpoint_sequence", sequence),
       Field("streams", static_cast<int64_t>(restored)), Field("redelivery_up_to", redelivery_bound_),
       Field("previous_owner", checkpoint.owner), Field("firing_alerts", static_cast<int64_t>(firing.size()))});
  return core::Status::Ok();
}

core::Status PartitionWorker::RecreateConsumer(uint64_t start_after, bool takeover) {
  if (takeover) redelivery_bound_ = std::max(redelivery_bound_, start_after);
  consumer_->Unsubscribe();
  subscribed_ = false;
  consumer_seq_ = 0;
  PartitionConsumer::State state;
  BackendStatus s = consumer_->GetState(&state);
  if (s.ok()) {
    // What the old consumer had sent past the checkpoint may have been
    // scored by the previous owner: counted as redelivered when applied.
    if (takeover) redelivery_bound_ = std::max(redelivery_bound_, state.delivered);
    s = consumer_->Remove();
    if (!s.ok()) return core::Status::Error(s.error);
  } else if (!s.not_found()) {
    return core::Status::Error(s.error);
  }
  // A fresh consumer starting right after the checkpoint keeps every
  // stream's samples in order (redeliveries of a surviving consumer would
  // come after newer samples).
  s = consumer_->Create(start_after);
  if (!s.ok()) return core::Status::Error(s.error);
  subscribed_ = true;
  return core::Status::Ok();
}

void PartitionWorker::FetchAndApply() {
  if (!subscribed_) {  // a consumer restart failed: try again
    if (core::Status s = RecreateConsumer(applied_seq_, false); !s.ok()) {
      shared_->cluster_metrics->fetch_errors->Increment();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return;
    }
  }
  std::vector<ConsumedMessage> batch;
  const BackendStatus s = consumer_->Fetch(shared_->nats.fetch_batch, kFetchWait, &batch);
  if (s.timed_out()) {
    CheckForLostTail();
    return;
  }
  if (!s.ok()) {
    shared_->cluster_metrics->fetch_errors->Increment();
    static RateLimiter limiter(2);
    uint64_t suppressed = 0;
    if (limiter.Allow(&suppressed)) {
      Log(LogLevel::kWarn, "fetch from a partition failed; retrying",
          {Field("partition", partition_), Field("error", s.error),
           Field("suppressed_since_last", suppressed)});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return;
  }
  bool gap = false;
  {
    std::lock_guard lock(ingest_mu_);
    for (size_t i = 0; i < batch.size() && !gap; ++i) gap = !Apply(std::move(batch[i]));
  }
  last_delivery_ = std::chrono::steady_clock::now();
  tail_suspect_ = false;
  // The rest of the batch comes again, in order, after the restart.
  if (gap) RestartAfterLoss("deliveries lost in flight; restarting the partition's consumer");
}

void PartitionWorker::RestartAfterLoss(const char* what) {
  // Start again right after the last applied sample.
  shared_->cluster_metrics->consumer_restarts->Increment();
  Log(LogLevel::kWarn, what, {Field("partition", partition_), Field("after_sequence", applied_seq_)});
  unacked_.reset();
  unacked_count_ = 0;
  tail_suspect_ = false;
  if (core::Status restarted = RecreateConsumer(applied_seq_, false); !restarted.ok()) {
    shared_->cluster_metrics->fetch_errors->Increment();
    Log(LogLevel::kWarn, "restarting the consumer failed; retrying",
        {Field("partition", partition_), Field("error", restarted.message())});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void PartitionWorker::CheckForLostTail() {
  // A delivery lost in flight shows as a gap in the consumer sequence only
  // when a later one arrives. At the end of what was published nothing
  // does, and the server, which counts it delivered, does not always send it
  // again (once seen after a JetStream leader change: docs/cluster.md). So
  // when the partition has been idle for tail_check_interval, ask the server
  // how many deliveries the consumer made; if that is past the last one
  // received, note it, and when it still is after another idle interval
  // (anything in flight at the first look has arrived by then), start again
  // after the last applied sample. The consumer sequence, not the stream
  // sequence: a consumer filtered to this partition moves its delivered
  // stream sequence on to the stream's newest message, another partition's,
  // once it finds none of its own.
  const auto now = std::chrono::steady_clock::now();
  const auto interval = shared_->tail_check_interval;
  if (now - last_delivery_ < interval || now - last_tail_check_ < interval) return;
  last_tail_check_ = now;
  PartitionConsumer::State state;
  if (!consumer_->GetState(&state).ok()) return;  // NATS away: the fetches say so
  if (state.deliveries <= consumer_seq_) {
    tail_suspect_ = false;
    return;
  }
  if (!tail_suspect_) {
    tail_suspect_ = true;
    return;
  }
  RestartAfterLoss("deliveries lost at the end of the partition (delivered by the server, never received); "
                   "restarting the partition's consumer");
}

bool PartitionWorker::Apply(ConsumedMessage message) {
  if (!message.sequenced) {
    shared_->cluster_metrics->fetch_errors->Increment();
    return false;  // cannot tell where it belongs: start again after the last applied one
  }
  // Deliveries (redeliveries too) are numbered 1, 2, 3... by the consumer; a
  // jump means some never arrived (the server counts them as pending until
  // ack_wait, then redelivers them after newer ones).
  const uint64_t cseq = message.consumer_sequence;
  if (cseq > consumer_seq_ + 1) return false;
  consumer_seq_ = cseq;
  const uint64_t seq = message.stream_sequence;
  if (seq <= applied_seq_) {
    shared_->cluster_metrics->duplicates_skipped->Increment();
  } else {
    const uint64_t samples = ApplyLines(message.data);
    applied_seq_ = seq;
    shared_->cluster_metrics->samples_consumed->Increment(static_cast<double>(samples));
    if (seq <= redelivery_bound_) shared_->cluster_metrics->redelivered->Increment(static_cast<double>(samples));
  }
  unacked_ = std::move(message);  // acknowledging the newest covers the rest
  ++unacked_count_;
  return true;
}

uint64_t PartitionWorker::ApplyLines(std::string_view data) {
  // One line per message, several lines of one stream (a producer's
  // batch), or a batch message: its header (a comment to the Ingestor)
  // gives the count of the lines that follow, all applied in order.
  const std::string_view first = data.substr(0, data.find('\n'));
  const std::optional<uint64_t> expected = BatchCount(first);
  uint64_t samples = 0;
  while (!data.empty()) {
    const size_t nl = data.find('\n');
    const std::string_view line = data.substr(0, nl);
    if (!line.empty() && line[0] != '#') {
      ingestor_->HandleLine(line, peer_);
      ++samples;
    }
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  if (expected && *expected != samples) {
    // Stored whole by JetStream, so the publisher wrote it so: its lines
    // are applied (each checked as any line), the mismatch reported.
    shared_->cluster_metrics->batch_mismatches->Increment();
    static RateLimiter limiter(1);
    uint64_t suppressed = 0;
    if (limiter.Allow(&suppressed)) {
      Log(LogLevel::kWarn, "batch message carries another number of lines than its header says",
          {Field("partition", partition_), Field("header", std::string(first)), Field("lines", samples),
           Field("suppressed_since_last", suppressed)});
    }
  }
  return samples;
}

PartitionWorker::Commit PartitionWorker::SaveCheckpoint() {
  last_checkpoint_ = std::chrono::steady_clock::now();
  if (!unacked_ && applied_seq_ == saved_seq_) return Commit::kOk;
  // Acknowledge only what is scored: wait for every window submitted so far.
  shared_->scorer->Drain();
  std::vector<StreamSnapshot> streams;
  {
    std::lock_guard lock(ingest_mu_);
    streams = ingestor_->Save();
  }
  const Commit c = ledger_.Save({shared_->instance_id, applied_seq_, redelivery_bound_, std::move(streams), {}});
  if (c != Commit::kOk) return c;
  saved_seq_ = applied_seq_;
  if (unacked_) {
    // A lost ack only means a redelivery after ack_wait, skipped by sequence.
    if (!consumer_->Ack(*unacked_).ok()) shared_->cluster_metrics->nats_errors->Increment();
    unacked_.reset();
    unacked_count_ = 0;
  }
  ledger_.Tidy();
  return Commit::kOk;
}

void PartitionWorker::DropStreams() {
  std::vector<StreamSnapshot> streams;
  {
    std::lock_guard lock(ingest_mu_);
    if (!ingestor_) return;
    shared_->scorer->Drain();  // Save() reads alert states the scoring workers own
    streams = ingestor_->Save();
    ingestor_.reset();
  }
  std::shared_ptr<const ModelSet> models;
  {
    std::lock_guard lock(shared_->mu);
    models = shared_->models;
  }
  for (const StreamSnapshot& s : streams) {
    for (const auto& m : models->models) {
      if (m->name() == s.model) m->metrics.streams->Decrement();
    }
    // The alert goes on at the partition's next owner; this instance stops
    // reporting it.
    if (s.firing) {
      shared_->metrics->ForStream(s.model, s.key, false).anomalous->Set(0);
      shared_->alertmanager->Forget(s.model, s.key);
    }
  }
}

}  // namespace lstmad::daemon
