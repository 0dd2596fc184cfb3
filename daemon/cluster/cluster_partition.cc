#include "cluster/cluster_partition.h"

#include <algorithm>
#include <cstring>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

constexpr int64_t kFetchWaitMs = 200;
constexpr int kFinalCheckpointTries = 3;

std::chrono::steady_clock::duration Seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// The server redelivers what is not acknowledged after this long; a
// checkpoint (and so the ack) comes every checkpoint_interval, so this only
// fires when an owner stalls. Redeliveries of applied samples are skipped.
int64_t AckWaitNs(const config::NatsSettings& s) {
  return static_cast<int64_t>(std::max(30.0, 10 * s.checkpoint_interval_s) * 1e9);
}

}  // namespace

PartitionWorker::PartitionWorker(int partition, ClusterShared* shared)
    : partition_(partition),
      shared_(shared),
      key_("snap." + std::to_string(partition)),
      peer_("nats partition " + std::to_string(partition)),
      store_(shared->link, key_) {}

PartitionWorker::~PartitionWorker() { Stop(false); }

void PartitionWorker::Start() { thread_ = std::thread([this] { Run(); }); }

void PartitionWorker::Stop(bool graceful) {
  graceful_ = graceful;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void PartitionWorker::Reload(const config::Settings& settings, std::shared_ptr<const ModelSet> models) {
  std::lock_guard lock(ingest_mu_);
  if (ingestor_) ingestor_->Reload(settings, std::move(models));
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
  if (sub_) natsSubscription_Unsubscribe(sub_.get());
  sub_.reset();
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
  LSTMAD_RETURN_IF_ERROR(LoadCheckpoint(&checkpoint));
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

core::Status PartitionWorker::LoadCheckpoint(Checkpoint* checkpoint) {
  kvStore* kv = shared_->link->state();
  std::string stored;
  uint64_t revision = 0;
  natsStatus s = shared_->link->ReadKey(shared_->link->names().state_bucket, key_, &stored, &revision);
  if (s == NATS_NOT_FOUND) {
    // First owner ever: an empty checkpoint, created only if nobody else did.
    checkpoint->owner = shared_->instance_id;
    const std::string empty = EncodeCheckpoint(*checkpoint);
    s = kvStore_Create(&checkpoint_rev_, kv, key_.c_str(), empty.data(), static_cast<int>(empty.size()));
    if (s != NATS_OK) return core::Status::Error(NatsError("creating checkpoint " + key_, s));
    generation_ = 0;
    return core::Status::Ok();
  }
  if (s != NATS_OK) return core::Status::Error(NatsError("reading checkpoint " + key_, s));
  const std::string source = shared_->link->names().state_bucket + "/" + key_;
  CheckpointHead head;
  core::Status refused;
  LSTMAD_RETURN_IF_ERROR(ReadCheckpoint(stored, source, &head, checkpoint, &refused));  // NATS: retried
  if (!refused.ok() && head.chunked) {
    // A previous owner still writing (its lease lapsed, it has not noticed)
    // may have replaced the head and purged the chunks read here: that is
    // no damage, and the fence below would fail anyway. Retried.
    std::string again;
    uint64_t now = 0;
    if (shared_->link->ReadKey(shared_->link->names().state_bucket, key_, &again, &now) != NATS_OK ||
        now != revision) {
      return core::Status::Error("checkpoint " + key_ + " changed while its chunks were read; retrying");
    }
  }
  if (!refused.ok()) {
    // Refused, not fatal: the partition goes on from the consumer's ack
    // floor with empty windows (logged; lookback refills after T samples).
    shared_->cluster_metrics->checkpoints_refused->Increment();
    Log(LogLevel::kError, "checkpoint refused; the partition's streams start empty",
        {Field("partition", partition_), Field("error", refused.message())});
    *checkpoint = Checkpoint();
    jsConsumerInfo* ci = nullptr;
    if (js_GetConsumerInfo(&ci, shared_->link->js(), shared_->link->names().stream.c_str(),
                           shared_->link->names().Consumer(partition_).c_str(), nullptr, nullptr) == NATS_OK) {
      checkpoint->sequence = ci->AckFloor.Stream;
      jsConsumerInfo_Destroy(ci);
    }
    head = CheckpointHead{"", checkpoint->sequence, 0, false, 0, 0, 0, 0, EncodeSnapshot({})};
  }
  // Rewriting it (as its owner now) moves its revision: the previous owner's
  // next checkpoint (revision-checked) fails, so it stops before
  // acknowledging anything. Only the head is rewritten: it names the same
  // chunks.
  head.owner = shared_->instance_id;
  // Before the old consumer goes: how far it delivered, kept in the fence
  // so that whoever ends up owning the partition counts the redeliveries.
  jsConsumerInfo* ci = nullptr;
  if (js_GetConsumerInfo(&ci, shared_->link->js(), shared_->link->names().stream.c_str(),
                         shared_->link->names().Consumer(partition_).c_str(), nullptr, nullptr) == NATS_OK) {
    head.delivered = std::max(head.delivered, ci->Delivered.Stream);
    jsConsumerInfo_Destroy(ci);
  }
  checkpoint->delivered = head.delivered;
  redelivery_bound_ = std::max(head.delivered, head.sequence);
  std::string rewritten = EncodeCheckpointHead(head);
  if (!head.chunked && rewritten.size() > store_.ValueLimit()) {
    // An inline head that no longer fits (a version 1 head near the limit,
    // or max_payload lowered since): fenced as chunks of its own.
    Checkpoint fence = *checkpoint;
    fence.owner = head.owner;
    const uint64_t generation = NewGeneration();
    auto parts = EncodeCheckpointParts(fence, generation, store_.ValueLimit());
    if (!parts.ok()) return parts.status();
    LSTMAD_RETURN_IF_ERROR(store_.WriteChunks(*parts, generation));
    rewritten = std::move(parts->head);
    head = *DecodeCheckpointHead(rewritten, key_);
  }
  s = kvStore_Update(&checkpoint_rev_, kv, key_.c_str(), rewritten.data(), static_cast<int>(rewritten.size()),
                     revision);
  if (s != NATS_OK) return core::Status::Error(NatsError("fencing checkpoint " + key_, s));
  generation_ = head.chunked ? head.generation : 0;
  // Fenced: chunks of generations no head names (a previous owner's failed
  // writes, or a refused checkpoint's) can go.
  SweepChunks();
  return core::Status::Ok();
}

core::Status PartitionWorker::ReadCheckpoint(const std::string& stored, const std::string& source,
                                             CheckpointHead* head, Checkpoint* checkpoint, core::Status* refused) {
  auto decoded = DecodeCheckpointHead(stored, source);
  if (!decoded.ok()) {
    *refused = decoded.status();
    return core::Status::Ok();
  }
  *head = std::move(decoded).value();
  std::vector<std::string> chunks;
  LSTMAD_RETURN_IF_ERROR(store_.ReadChunks(*head, &chunks));
  auto assembled = AssembleCheckpoint(*head, chunks, source);
  if (!assembled.ok()) {
    *refused = assembled.status();
    return core::Status::Ok();
  }
  *checkpoint = std::move(assembled).value();
  return core::Status::Ok();
}

void PartitionWorker::SweepChunks() {
  int purged = 0;
  if (core::Status s = store_.Sweep(generation_, checkpoint_rev_, &purged); !s.ok()) {
    shared_->cluster_metrics->nats_errors->Increment();
    Log(LogLevel::kWarn, "removing unreferenced checkpoint chunks failed; retried after the next checkpoint",
        {Field("partition", partition_), Field("error", s.message())});
    sweep_pending_ = true;
    return;
  }
  sweep_pending_ = false;
  if (purged > 0) {
    Log(LogLevel::kInfo, "removed unreferenced checkpoint chunks",
        {Field("partition", partition_), Field("generations", static_cast<int64_t>(purged))});
  }
}

core::Status PartitionWorker::RecreateConsumer(uint64_t start_after, bool takeover) {
  const ClusterNames& names = shared_->link->names();
  const std::string consumer = names.Consumer(partition_);
  const std::string filter = names.PartitionSubjects(partition_);
  jsCtx* js = shared_->link->js();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsConsumerInfo* ci = nullptr;
  if (takeover) redelivery_bound_ = std::max(redelivery_bound_, start_after);
  if (sub_) natsSubscription_Unsubscribe(sub_.get());
  sub_.reset();
  consumer_seq_ = 0;
  natsStatus s = js_GetConsumerInfo(&ci, js, names.stream.c_str(), consumer.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    // What the old consumer had sent past the checkpoint may have been
    // scored by the previous owner: counted as redelivered when applied.
    if (takeover) redelivery_bound_ = std::max(redelivery_bound_, ci->Delivered.Stream);
    jsConsumerInfo_Destroy(ci);
    s = js_DeleteConsumer(js, names.stream.c_str(), consumer.c_str(), nullptr, &jerr);
    if (s != NATS_OK && s != NATS_NOT_FOUND) return core::Status::Error(NatsError("deleting " + consumer, s, jerr));
  } else if (s != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr) {
    return core::Status::Error(NatsError("looking up " + consumer, s, jerr));
  }
  // A fresh consumer starting right after the checkpoint keeps every
  // stream's samples in order (redeliveries of a surviving consumer would
  // come after newer samples).
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = consumer.c_str();
  cfg.FilterSubject = filter.c_str();
  cfg.AckPolicy = js_AckAll;
  cfg.AckWait = AckWaitNs(shared_->nats);
  cfg.MaxAckPending = shared_->nats.max_ack_pending;
  if (start_after > 0) {
    cfg.DeliverPolicy = js_DeliverByStartSequence;
    cfg.OptStartSeq = start_after + 1;
  } else {
    cfg.DeliverPolicy = js_DeliverAll;
  }
  ci = nullptr;
  s = js_AddConsumer(&ci, js, names.stream.c_str(), &cfg, nullptr, &jerr);
  if (s != NATS_OK) return core::Status::Error(NatsError("creating consumer " + consumer, s, jerr));
  jsConsumerInfo_Destroy(ci);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = names.stream.c_str();
  so.Consumer = consumer.c_str();
  natsSubscription* sub = nullptr;
  s = js_PullSubscribe(&sub, js, filter.c_str(), consumer.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) return core::Status::Error(NatsError("subscribing to " + consumer, s, jerr));
  sub_.reset(sub);
  return core::Status::Ok();
}

void PartitionWorker::FetchAndApply() {
  if (!sub_) {  // a consumer restart failed: try again
    if (core::Status s = RecreateConsumer(applied_seq_, false); !s.ok()) {
      shared_->cluster_metrics->fetch_errors->Increment();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return;
    }
  }
  natsMsgList list{};
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = natsSubscription_Fetch(&list, sub_.get(), shared_->nats.fetch_batch, kFetchWaitMs, &jerr);
  if (s == NATS_TIMEOUT) return;
  if (s != NATS_OK) {
    shared_->cluster_metrics->fetch_errors->Increment();
    static RateLimiter limiter(2);
    uint64_t suppressed = 0;
    if (limiter.Allow(&suppressed)) {
      Log(LogLevel::kWarn, "fetch from a partition failed; retrying",
          {Field("partition", partition_), Field("error", NatsError("fetch", s, jerr)),
           Field("suppressed_since_last", suppressed)});
    }
    natsMsgList_Destroy(&list);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return;
  }
  bool gap = false;
  {
    std::lock_guard lock(ingest_mu_);
    for (int i = 0; i < list.Count && !gap; ++i) {
      gap = !Apply(list.Msgs[i]);
      list.Msgs[i] = nullptr;  // Apply owns it now
    }
  }
  natsMsgList_Destroy(&list);
  if (gap) {
    // Start again right after the last applied sample; the rest of the
    // batch comes again, in order.
    shared_->cluster_metrics->consumer_restarts->Increment();
    Log(LogLevel::kWarn, "deliveries lost in flight; restarting the partition's consumer",
        {Field("partition", partition_), Field("after_sequence", applied_seq_)});
    unacked_.reset();
    unacked_count_ = 0;
    if (core::Status restarted = RecreateConsumer(applied_seq_, false); !restarted.ok()) {
      shared_->cluster_metrics->fetch_errors->Increment();
      Log(LogLevel::kWarn, "restarting the consumer failed; retrying",
          {Field("partition", partition_), Field("error", restarted.message())});
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

bool PartitionWorker::Apply(natsMsg* msg) {
  NatsPtr<natsMsg> owned(msg);
  jsMsgMetaData* raw = nullptr;
  if (natsMsg_GetMetaData(&raw, msg) != NATS_OK) {
    shared_->cluster_metrics->fetch_errors->Increment();
    return false;  // cannot tell where it belongs: start again after the last applied one
  }
  NatsPtr<jsMsgMetaData> meta(raw);
  // Deliveries (redeliveries too) are numbered 1, 2, 3... by the consumer; a
  // jump means some never arrived (the server counts them as pending until
  // ack_wait, then redelivers them after newer ones).
  const uint64_t cseq = meta->Sequence.Consumer;
  if (cseq > consumer_seq_ + 1) return false;
  consumer_seq_ = cseq;
  const uint64_t seq = meta->Sequence.Stream;
  if (seq <= applied_seq_) {
    shared_->cluster_metrics->duplicates_skipped->Increment();
  } else {
    std::string_view data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    // One line per message is the contract; several lines of one stream are
    // accepted too (a producer's batch).
    while (!data.empty()) {
      const size_t nl = data.find('\n');
      const std::string_view line = data.substr(0, nl);
      if (!line.empty()) ingestor_->HandleLine(line, peer_);
      if (nl == std::string_view::npos) break;
      data.remove_prefix(nl + 1);
    }
    applied_seq_ = seq;
    shared_->cluster_metrics->samples_consumed->Increment();
    if (seq <= redelivery_bound_) shared_->cluster_metrics->redelivered->Increment();
  }
  unacked_ = std::move(owned);  // AckAll: acknowledging the newest covers the rest
  ++unacked_count_;
  return true;
}

PartitionWorker::Commit PartitionWorker::SaveCheckpoint() {
  last_checkpoint_ = std::chrono::steady_clock::now();
  if (!unacked_ && applied_seq_ == saved_seq_) return Commit::kOk;
  ClusterMetrics& cm = *shared_->cluster_metrics;
  // Acknowledge only what is scored: wait for every window submitted so far.
  shared_->scorer->Drain();
  std::vector<StreamSnapshot> streams;
  {
    std::lock_guard lock(ingest_mu_);
    streams = ingestor_->Save();
  }
  const uint64_t generation = NewGeneration();
  auto parts = EncodeCheckpointParts({shared_->instance_id, applied_seq_, redelivery_bound_, std::move(streams)},
                                     generation, store_.ValueLimit());
  if (!parts.ok()) {
    cm.checkpoints_failed->Increment();
    Log(LogLevel::kError, "partition checkpoint too large; raise nats.partitions",
        {Field("partition", partition_), Field("error", parts.status().message())});
    return Commit::kRetry;
  }
  const bool chunked = !parts->chunks.empty();
  if (core::Status written = store_.WriteChunks(*parts, generation); !written.ok()) {
    cm.checkpoints_failed->Increment();
    sweep_pending_ = true;  // whatever chunks did get written name no head
    Log(LogLevel::kWarn, "partition checkpoint failed; retrying",
        {Field("partition", partition_), Field("error", written.message())});
    return Commit::kRetry;
  }
  // Chunks first, then the head that names them: a reader never sees a
  // head whose chunks are not all there.
  uint64_t rev = 0;
  natsStatus s = kvStore_Update(&rev, shared_->link->state(), key_.c_str(), parts->head.data(),
                                static_cast<int>(parts->head.size()), checkpoint_rev_);
  if (s != NATS_OK) {
    cm.checkpoints_failed->Increment();
    // Chunks of this write, or of an earlier one whose reply was lost and
    // that is found below, may name no head now.
    sweep_pending_ = true;
    const std::string error = NatsError("checkpoint " + key_, s);
    std::string bytes_now;
    uint64_t revision = 0;
    if (shared_->link->ReadKey(shared_->link->names().state_bucket, key_, &bytes_now, &revision) == NATS_OK &&
        revision != checkpoint_rev_) {
      auto stored = DecodeCheckpointHead(bytes_now, key_);
      if (!stored.ok() || stored->owner != shared_->instance_id) {
        // A new owner rewrote it. Its sweep ran at its takeover, maybe before
        // these chunks were written: remove them here, unless its fence
        // rewrote this very write (whose reply was lost) and so names them.
        if (chunked && (!stored.ok() || !stored->chunked || stored->generation != generation)) {
          if (!store_.Purge(generation).ok()) cm.nats_errors->Increment();
        }
        return Commit::kFenced;
      }
      // Our own earlier write whose reply was lost (a NATS node went away
      // meanwhile): still ours; the next attempt writes over it.
      checkpoint_rev_ = revision;
      generation_ = stored->chunked ? stored->generation : 0;
    }
    Log(LogLevel::kWarn, "partition checkpoint failed; retrying",
        {Field("partition", partition_), Field("error", error)});
    return Commit::kRetry;
  }
  checkpoint_rev_ = rev;
  saved_seq_ = applied_seq_;
  cm.checkpoints_ok->Increment();
  if (unacked_) {
    // A lost ack only means a redelivery after ack_wait, skipped by sequence.
    if (natsMsg_Ack(unacked_.get(), nullptr) != NATS_OK) cm.nats_errors->Increment();
    unacked_.reset();
    unacked_count_ = 0;
  }
  // The previous generation is no head's now (a new owner's fence would
  // have failed this write). Unknown leftovers need the listing sweep.
  const uint64_t previous = generation_;
  generation_ = chunked ? generation : 0;
  if (sweep_pending_) {
    SweepChunks();
  } else if (previous != 0 && previous != generation_) {
    if (core::Status purged = store_.Purge(previous); !purged.ok()) {
      cm.nats_errors->Increment();
      sweep_pending_ = true;
    }
  }
  return Commit::kOk;
}

uint64_t PartitionWorker::NewGeneration() {
  // Random, so that generations of different owners (and of restarts of
  // one) never collide; 0 means "inline".
  uint64_t g = 0;
  while (g == 0) g = (uint64_t{random_()} << 32) ^ random_();
  return g;
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
