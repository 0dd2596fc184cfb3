#include "cluster/cluster_checkpoint_store.h"

#include <set>

namespace lstmad::daemon {

CheckpointStore::CheckpointStore(NatsLink* link, std::string head_key)
    : link_(link), head_key_(std::move(head_key)), stream_("KV_" + link->names().state_bucket) {}

std::string CheckpointStore::Subject(const std::string& key) const {
  return "$KV." + link_->names().state_bucket + "." + key;
}

size_t CheckpointStore::ValueLimit() const {
  const int64_t max_payload = link_->max_payload();
  // A server configured with a tiny max_payload still gets values that fit.
  return static_cast<size_t>(max_payload > 2 * kChunkHeadroom ? max_payload - kChunkHeadroom : max_payload / 2);
}

core::Status CheckpointStore::WriteChunks(const EncodedCheckpoint& parts, uint64_t generation) {
  for (uint32_t i = 0; i < parts.chunks.size(); ++i) {
    const std::string key = CheckpointChunkKey(head_key_, generation, i);
    const std::string& chunk = parts.chunks[i];
    uint64_t rev = 0;
    const natsStatus s =
        kvStore_Put(&rev, link_->state(), key.c_str(), chunk.data(), static_cast<int>(chunk.size()));
    if (s != NATS_OK) return core::Status::Error(NatsError("writing checkpoint chunk " + key, s));
  }
  return core::Status::Ok();
}

core::Status CheckpointStore::ReadChunks(const CheckpointHead& head, std::vector<std::string>* chunks) {
  chunks->clear();
  for (uint32_t i = 0; head.chunked && i < head.chunks; ++i) {
    const std::string key = CheckpointChunkKey(head_key_, head.generation, i);
    std::string value;
    uint64_t revision = 0;
    const natsStatus s = link_->ReadKey(link_->names().state_bucket, key, &value, &revision);
    if (s == NATS_NOT_FOUND) return core::Status::Ok();  // AssembleCheckpoint names what is missing
    if (s != NATS_OK) return core::Status::Error(NatsError("reading checkpoint chunk " + key, s));
    chunks->push_back(std::move(value));
  }
  return core::Status::Ok();
}

core::Status CheckpointStore::Purge(uint64_t generation) {
  // Every index of the generation: "<head>.<generation>.>".
  const std::string key = CheckpointChunkKey(head_key_, generation, 0);
  const std::string filter = Subject(key.substr(0, key.size() - 1)) + ">";
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Purge.Subject = filter.c_str();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_PurgeStream(link_->js(), stream_.c_str(), &o, &jerr);
  if (s != NATS_OK) return core::Status::Error(NatsError("purging checkpoint chunks " + filter, s, jerr));
  return core::Status::Ok();
}

core::Status CheckpointStore::Sweep(uint64_t keep, uint64_t revision, int* purged) {
  *purged = 0;
  const std::string filter = Subject(head_key_) + ".>";
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, link_->js(), stream_.c_str(), &o, &jerr);
  if (s != NATS_OK) return core::Status::Error(NatsError("listing checkpoint chunks " + filter, s, jerr));
  NatsPtr<jsStreamInfo> info(raw);
  std::set<uint64_t> stale;
  const std::string prefix = Subject("");
  const jsStreamStateSubjects* subjects = info->State.Subjects;
  for (int i = 0; subjects != nullptr && i < subjects->Count; ++i) {
    const std::string_view subject = subjects->List[i].Subject;
    uint64_t generation = 0;
    if (subject.substr(0, prefix.size()) == prefix &&
        ParseCheckpointChunkKey(subject.substr(prefix.size()), head_key_, &generation) && generation != keep) {
      stale.insert(generation);
    }
  }
  if (stale.empty()) return core::Status::Ok();
  std::string value;
  uint64_t now = 0;
  s = link_->ReadKey(link_->names().state_bucket, head_key_, &value, &now);
  if (s != NATS_OK) return core::Status::Error(NatsError("reading checkpoint " + head_key_, s));
  if (now != revision) return core::Status::Ok();  // another owner's now: the sweep is theirs
  for (uint64_t generation : stale) {
    LSTMAD_RETURN_IF_ERROR(Purge(generation));
    ++*purged;
  }
  return core::Status::Ok();
}

}  // namespace lstmad::daemon
