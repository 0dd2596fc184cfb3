#include "cluster/cluster_checkpoint_store.h"

#include <set>

namespace lstmad::daemon {

CheckpointStore::CheckpointStore(KvBucket* bucket, std::string head_key, int64_t max_payload)
    : bucket_(bucket), head_key_(std::move(head_key)), max_payload_(max_payload) {}

size_t CheckpointStore::ValueLimit() const {
  // A server configured with a tiny max_payload still gets values that fit.
  return static_cast<size_t>(max_payload_ > 2 * kChunkHeadroom ? max_payload_ - kChunkHeadroom : max_payload_ / 2);
}

core::Status CheckpointStore::WriteChunks(const EncodedCheckpoint& parts, uint64_t generation) {
  for (uint32_t i = 0; i < parts.chunks.size(); ++i) {
    const std::string key = CheckpointChunkKey(head_key_, generation, i);
    uint64_t rev = 0;
    const BackendStatus s = bucket_->Put(key, parts.chunks[i], &rev);
    if (!s.ok()) return core::Status::Error("writing checkpoint chunk " + key + ": " + s.error);
  }
  return core::Status::Ok();
}

core::Status CheckpointStore::ReadChunks(const CheckpointHead& head, std::vector<std::string>* chunks) {
  chunks->clear();
  for (uint32_t i = 0; head.chunked && i < head.chunks; ++i) {
    const std::string key = CheckpointChunkKey(head_key_, head.generation, i);
    KvEntry entry;
    const BackendStatus s = bucket_->Get(key, &entry);
    if (s.not_found()) return core::Status::Ok();  // AssembleCheckpoint names what is missing
    if (!s.ok()) return core::Status::Error("reading checkpoint chunk " + key + ": " + s.error);
    chunks->push_back(std::move(entry.value));
  }
  return core::Status::Ok();
}

core::Status CheckpointStore::Purge(uint64_t generation) {
  // Every index of the generation: "<head>.<generation>.".
  const std::string key = CheckpointChunkKey(head_key_, generation, 0);
  const std::string prefix = key.substr(0, key.size() - 1);
  const BackendStatus s = bucket_->PurgePrefix(prefix);
  if (!s.ok()) return core::Status::Error("purging checkpoint chunks " + prefix + "*: " + s.error);
  return core::Status::Ok();
}

core::Status CheckpointStore::Sweep(uint64_t keep, uint64_t revision, int* purged) {
  *purged = 0;
  std::vector<std::string> keys;
  const std::string prefix = head_key_ + ".";
  BackendStatus s = bucket_->StoredKeys(prefix, &keys);
  if (!s.ok()) return core::Status::Error("listing checkpoint chunks " + prefix + "*: " + s.error);
  std::set<uint64_t> stale;
  for (const std::string& key : keys) {
    uint64_t generation = 0;
    if (ParseCheckpointChunkKey(key, head_key_, &generation) && generation != keep) stale.insert(generation);
  }
  if (stale.empty()) return core::Status::Ok();
  KvEntry head;
  s = bucket_->Get(head_key_, &head);
  if (!s.ok()) return core::Status::Error("reading checkpoint " + head_key_ + ": " + s.error);
  if (head.revision != revision) return core::Status::Ok();  // another owner's now: the sweep is theirs
  for (uint64_t generation : stale) {
    LSTMAD_RETURN_IF_ERROR(Purge(generation));
    ++*purged;
  }
  return core::Status::Ok();
}

}  // namespace lstmad::daemon
