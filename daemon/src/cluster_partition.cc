#include "cluster_partition.h"

#include <algorithm>
#include <cstring>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "logging.h"

namespace lstmad::daemon {
namespace {

constexpr std::string_view kCheckpointMagic = "LSTMADCP";
constexpr uint32_t kCheckpointVersion = 1;
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

std::string EncodeCheckpoint(uint64_t sequence, const std::vector<StreamSnapshot>& streams) {
  std::string out(kCheckpointMagic);
  char bytes[12];
  std::memcpy(bytes, &kCheckpointVersion, 4);  // little-endian hosts, as snapshot.cc
  std::memcpy(bytes + 4, &sequence, 8);
  out.append(bytes, sizeof bytes);
  out += EncodeSnapshot(streams);
  return out;
}

core::Status DecodeCheckpoint(std::string_view bytes, const std::string& source, uint64_t* sequence,
                              std::vector<StreamSnapshot>* streams) {
  const size_t header = kCheckpointMagic.size() + 12;
  if (bytes.size() < header || bytes.substr(0, kCheckpointMagic.size()) != kCheckpointMagic) {
    return core::Status::Error(source + ": not an lstmad partition checkpoint (no LSTMADCP magic)");
  }
  uint32_t version = 0;
  std::memcpy(&version, bytes.data() + kCheckpointMagic.size(), 4);
  if (version != kCheckpointVersion) {
    return core::Status::Error(source + ": checkpoint version " + std::to_string(version) + " is not supported");
  }
  std::memcpy(sequence, bytes.data() + kCheckpointMagic.size() + 4, 8);
  auto decoded = DecodeSnapshot(bytes.substr(header), source);
  if (!decoded.ok()) return decoded.status();
  *streams = std::move(decoded).value();
  return core::Status::Ok();
}

PartitionWorker::PartitionWorker(int partition, ClusterShared* shared)
    : partition_(partition),
      shared_(shared),
      key_("snap." + std::to_string(partition)),
      peer_("nats partition " + std::to_string(partition)) {}

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
  std::lock_guard lock(ingest_mu_);
  if (!ingestor_) return out;
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
      if (Checkpoint() == Commit::kFenced) fenced_ = true;
    }
  }
  if (graceful_ && !fenced_) {
    for (int i = 0; i < kFinalCheckpointTries; ++i) {
      const Commit c = Checkpoint();
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
  uint64_t sequence = 0;
  std::vector<StreamSnapshot> streams;
  LSTMAD_RETURN_IF_ERROR(LoadCheckpoint(&sequence, &streams));
  size_t restored = 0;
  {
    std::lock_guard lock(ingest_mu_);
    restored = ingestor_->Restore(streams);
  }
  LSTMAD_RETURN_IF_ERROR(RecreateConsumer(sequence));
  applied_seq_ = saved_seq_ = sequence;
  Log(LogLevel::kInfo, "partition acquired",
      {Field("partition", partition_), Field("checkpoint_sequence", sequence),
       Field("streams", static_cast<int64_t>(restored)), Field("redelivery_up_to", redelivery_bound_)});
  return core::Status::Ok();
}

core::Status PartitionWorker::LoadCheckpoint(uint64_t* sequence, std::vector<StreamSnapshot>* streams) {
  kvStore* kv = shared_->link->state();
  kvEntry* raw = nullptr;
  natsStatus s = kvStore_Get(&raw, kv, key_.c_str());
  if (s == NATS_NOT_FOUND) {
    // First owner ever: an empty checkpoint, created only if nobody else did.
    const std::string empty = EncodeCheckpoint(0, {});
    s = kvStore_Create(&checkpoint_rev_, kv, key_.c_str(), empty.data(), static_cast<int>(empty.size()));
    if (s != NATS_OK) return core::Status::Error(NatsError("creating checkpoint " + key_, s));
    *sequence = 0;
    return core::Status::Ok();
  }
  if (s != NATS_OK) return core::Status::Error(NatsError("reading checkpoint " + key_, s));
  NatsPtr<kvEntry> entry(raw);
  const std::string_view bytes(static_cast<const char*>(kvEntry_Value(raw)), static_cast<size_t>(kvEntry_ValueLen(raw)));
  const std::string source = shared_->link->names().state_bucket + "/" + key_;
  if (core::Status d = DecodeCheckpoint(bytes, source, sequence, streams); !d.ok()) {
    // Refused, not fatal: the partition goes on from the consumer's ack
    // floor with empty windows (logged; lookback refills after T samples).
    Log(LogLevel::kError, "checkpoint refused; the partition's streams start empty",
        {Field("partition", partition_), Field("error", d.message())});
    streams->clear();
    *sequence = 0;
    jsConsumerInfo* ci = nullptr;
    if (js_GetConsumerInfo(&ci, shared_->link->js(), shared_->link->names().stream.c_str(),
                           shared_->link->names().Consumer(partition_).c_str(), nullptr, nullptr) == NATS_OK) {
      *sequence = ci->AckFloor.Stream;
      jsConsumerInfo_Destroy(ci);
    }
  }
  // Rewriting it moves its revision: the previous owner's next checkpoint
  // (revision-checked) fails, so it stops before acknowledging anything.
  const std::string rewritten = EncodeCheckpoint(*sequence, *streams);
  s = kvStore_Update(&checkpoint_rev_, kv, key_.c_str(), rewritten.data(), static_cast<int>(rewritten.size()),
                     kvEntry_Revision(raw));
  if (s != NATS_OK) return core::Status::Error(NatsError("fencing checkpoint " + key_, s));
  return core::Status::Ok();
}

core::Status PartitionWorker::RecreateConsumer(uint64_t start_after) {
  const ClusterNames& names = shared_->link->names();
  const std::string consumer = names.Consumer(partition_);
  const std::string filter = names.PartitionSubjects(partition_);
  jsCtx* js = shared_->link->js();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsConsumerInfo* ci = nullptr;
  redelivery_bound_ = start_after;
  natsStatus s = js_GetConsumerInfo(&ci, js, names.stream.c_str(), consumer.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    // What the old consumer had sent past the checkpoint may have been
    // scored by the previous owner: counted as redelivered when applied.
    redelivery_bound_ = std::max(start_after, ci->Delivered.Stream);
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
  {
    std::lock_guard lock(ingest_mu_);
    for (int i = 0; i < list.Count; ++i) {
      Apply(list.Msgs[i]);
      list.Msgs[i] = nullptr;  // Apply owns it now
    }
  }
  natsMsgList_Destroy(&list);
}

void PartitionWorker::Apply(natsMsg* msg) {
  NatsPtr<natsMsg> owned(msg);
  jsMsgMetaData* raw = nullptr;
  if (natsMsg_GetMetaData(&raw, msg) != NATS_OK) {
    shared_->cluster_metrics->fetch_errors->Increment();
    return;
  }
  NatsPtr<jsMsgMetaData> meta(raw);
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
}

PartitionWorker::Commit PartitionWorker::Checkpoint() {
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
  const std::string bytes = EncodeCheckpoint(applied_seq_, streams);
  if (static_cast<int64_t>(bytes.size()) > shared_->link->max_payload()) {
    cm.checkpoints_failed->Increment();
    Log(LogLevel::kError, "partition checkpoint larger than the server's max_payload; raise max_payload or "
                          "nats.partitions",
        {Field("partition", partition_), Field("bytes", static_cast<int64_t>(bytes.size())),
         Field("max_payload", shared_->link->max_payload())});
    return Commit::kRetry;
  }
  uint64_t rev = 0;
  natsStatus s = kvStore_Update(&rev, shared_->link->state(), key_.c_str(), bytes.data(),
                                static_cast<int>(bytes.size()), checkpoint_rev_);
  if (s != NATS_OK) {
    cm.checkpoints_failed->Increment();
    const std::string error = NatsError("checkpoint " + key_, s);
    kvEntry* raw = nullptr;
    if (kvStore_Get(&raw, shared_->link->state(), key_.c_str()) == NATS_OK) {
      NatsPtr<kvEntry> entry(raw);
      if (kvEntry_Revision(raw) != checkpoint_rev_) return Commit::kFenced;  // a new owner rewrote it
    }
    Log(LogLevel::kWarn, "partition checkpoint failed; retrying", {Field("partition", partition_), Field("error", error)});
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
  return Commit::kOk;
}

void PartitionWorker::DropStreams() {
  std::vector<StreamSnapshot> streams;
  {
    std::lock_guard lock(ingest_mu_);
    if (!ingestor_) return;
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
      shared_->metrics->ForStream(s.model, s.key).anomalous->Set(0);
      shared_->alertmanager->Forget(s.model, s.key);
    }
  }
}

}  // namespace lstmad::daemon
