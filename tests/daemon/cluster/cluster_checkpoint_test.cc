// Partition checkpoints of cluster mode: round trip of the owner, the
// sequence and the streams; refusal of foreign or damaged bytes; checkpoints
// split into chunks (the manifest head, its refusals) and version 1 heads.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>

#include "cluster/cluster_checkpoint.h"
#include "lstmad/core/crc32c.h"
#include "ingest/stream_snapshots.h"
#include "ingest/stream_table.h"

namespace lstmad::daemon {
namespace {

Checkpoint OneFiringStream() {
  StreamTable table(2, 1);
  StreamStates states;
  const uint32_t id = table.Insert("pump,site=a", StreamTable::Hash("pump,site=a"));
  for (int i = 0; i < 3; ++i) {
    const float v = static_cast<float>(i) + 0.5f;
    table.Append(id, &v, 100 + i);
  }
  StreamScoringState* scored = states.GetOrCreate(id, table.key(id));
  scored->alert.Restore(true, 1);
  scored->detector.emplace(core::DetectorOptions{}, 0.5, 2);
  scored->detector_fingerprint = 0xFEEDu;
  return {"node-1", 0x1234567890ull, 0x1234567999ull, {SaveStream(table, states, id, "pump")}, {}};
}

TEST(ClusterCheckpointTest, RoundTripKeepsOwnerSequenceWindowAndAlert) {
  auto decoded = DecodeCheckpoint(EncodeCheckpoint(OneFiringStream()), "c");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->owner, "node-1");
  EXPECT_EQ(decoded->sequence, 0x1234567890ull);
  EXPECT_EQ(decoded->delivered, 0x1234567999ull);
  ASSERT_EQ(decoded->streams.size(), 1u);
  const StreamSnapshot& s = decoded->streams[0];
  EXPECT_EQ(s.key, "pump,site=a");
  EXPECT_EQ(s.values, (std::vector<float>{1.5f, 2.5f}));
  EXPECT_EQ(s.times_ns, (std::vector<int64_t>{101, 102}));
  EXPECT_EQ(s.samples, 3);
  EXPECT_TRUE(s.firing);
  EXPECT_EQ(s.alert_run, 1);
  // The next owner restores the detector only under the same model.
  EXPECT_FALSE(s.detector_state.empty());
  EXPECT_EQ(s.model_fingerprint, std::optional<uint32_t>(0xFEEDu));
}

TEST(ClusterCheckpointTest, EmptyPartitionRoundTrips) {
  auto decoded = DecodeCheckpoint(EncodeCheckpoint({}), "c");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->owner, "");
  EXPECT_EQ(decoded->sequence, 0u);
  EXPECT_TRUE(decoded->streams.empty());
}

TEST(ClusterCheckpointTest, RefusesForeignAndDamagedBytes) {
  EXPECT_EQ(DecodeCheckpoint("hello", "b/snap.1").status().message(),
            "b/snap.1: not an lstmad partition checkpoint (no LSTMADCP magic)");
  const std::string bytes = EncodeCheckpoint(OneFiringStream());
  std::string version = bytes;
  version[8] = 9;
  EXPECT_EQ(DecodeCheckpoint(version, "c").status().message(), "c: checkpoint version 9 is not supported");
  // Any flipped bit after the version, header (sequence, owner) or body, is caught by a checksum.
  for (size_t i = 12; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x40);
    EXPECT_FALSE(DecodeCheckpoint(damaged, "c").ok()) << i;
  }
  // Every truncation is refused too.
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(DecodeCheckpoint(bytes.substr(0, n), "c").ok()) << n;
}

// `count` streams of a T=4, F=3 model, each with its own values.
Checkpoint ManyStreams(int count) {
  StreamTable table(4, 3);
  Checkpoint out{"node-2", 777, 900, {}, {}};
  for (int j = 0; j < count; ++j) {
    const std::string key = "pump,site=s" + std::to_string(j);
    const uint32_t id = table.Insert(key, StreamTable::Hash(key));
    for (int i = 0; i < 5; ++i) {
      const float v[3] = {static_cast<float>(j), static_cast<float>(i), static_cast<float>(j * 10 + i)};
      table.Append(id, v, 1000 * j + i);
    }
    out.streams.push_back(table.Save(id, "pump"));
  }
  return out;
}

void ExpectSameStreams(const Checkpoint& got, const Checkpoint& want) {
  EXPECT_EQ(got.owner, want.owner);
  EXPECT_EQ(got.sequence, want.sequence);
  EXPECT_EQ(got.delivered, want.delivered);
  ASSERT_EQ(got.streams.size(), want.streams.size());
  for (size_t i = 0; i < want.streams.size(); ++i) {
    EXPECT_EQ(got.streams[i].key, want.streams[i].key);
    EXPECT_EQ(got.streams[i].values, want.streams[i].values);
    EXPECT_EQ(got.streams[i].times_ns, want.streams[i].times_ns);
    EXPECT_EQ(got.streams[i].samples, want.streams[i].samples);
  }
}

constexpr uint64_t kGeneration = 0x0123456789abcdefull;
constexpr size_t kLimit = 1000;  // bytes per stored value in these tests

struct Chunked {
  CheckpointHead head;
  std::vector<std::string> chunks;
};

Chunked SplitManyStreams(int count = 40, uint64_t generation = kGeneration) {
  auto parts = EncodeCheckpointParts(ManyStreams(count), generation, kLimit);
  EXPECT_TRUE(parts.ok()) << parts.status().message();
  auto head = DecodeCheckpointHead(parts->head, "h");
  EXPECT_TRUE(head.ok()) << head.status().message();
  return {*head, parts->chunks};
}

std::string AssembleError(const Chunked& c) {
  auto got = AssembleCheckpoint(c.head, c.chunks, "b/snap.3");
  return got.ok() ? "accepted" : got.status().message();
}

TEST(ClusterCheckpointTest, SmallCheckpointStaysInlineInTheHead) {
  const Checkpoint want = ManyStreams(3);
  auto parts = EncodeCheckpointParts(want, kGeneration, kLimit);
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  EXPECT_TRUE(parts->chunks.empty());
  EXPECT_LE(parts->head.size(), kLimit);
  EXPECT_EQ(parts->head, EncodeCheckpoint(want));
  auto decoded = DecodeCheckpoint(parts->head, "c");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ExpectSameStreams(*decoded, want);
}

TEST(ClusterCheckpointTest, LargeCheckpointSplitsIntoChunksBelowTheLimit) {
  const Checkpoint want = ManyStreams(40);
  const std::string body = EncodeSnapshot(want.streams);
  auto parts = EncodeCheckpointParts(want, kGeneration, kLimit);
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  const size_t per_chunk = kLimit - kChunkHeaderBytes;
  ASSERT_EQ(parts->chunks.size(), (body.size() + per_chunk - 1) / per_chunk);
  ASSERT_GE(parts->chunks.size(), 3u);
  for (const std::string& c : parts->chunks) EXPECT_LE(c.size(), kLimit);
  EXPECT_LT(parts->head.size(), 100u);  // a manifest, not the body
  auto head = DecodeCheckpointHead(parts->head, "h");
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_TRUE(head->chunked);
  EXPECT_EQ(head->generation, kGeneration);
  EXPECT_EQ(head->chunks, parts->chunks.size());
  EXPECT_EQ(head->body_size, body.size());
  EXPECT_EQ(head->body_crc, core::Crc32c(body));
  auto decoded = AssembleCheckpoint(*head, parts->chunks, "c");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ExpectSameStreams(*decoded, want);
  // The head alone is not a checkpoint.
  EXPECT_EQ(DecodeCheckpoint(parts->head, "c").status().message(), "c: checkpoint is chunked; its chunks are needed");
}

TEST(ClusterCheckpointTest, FenceRewritesOnlyTheHeadAndKeepsItsChunks) {
  Chunked c = SplitManyStreams();
  c.head.owner = "node-9";
  c.head.delivered = 12345;
  auto head = DecodeCheckpointHead(EncodeCheckpointHead(c.head), "h");
  ASSERT_TRUE(head.ok()) << head.status().message();
  auto decoded = AssembleCheckpoint(*head, c.chunks, "c");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->owner, "node-9");
  EXPECT_EQ(decoded->delivered, 12345u);
  EXPECT_EQ(decoded->streams.size(), 40u);
}

TEST(ClusterCheckpointTest, RefusesAMissingChunk) {
  Chunked c = SplitManyStreams();
  const size_t n = c.chunks.size();
  c.chunks.pop_back();
  EXPECT_EQ(AssembleError(c), "b/snap.3: checkpoint chunk " + std::to_string(n - 1) + " of " + std::to_string(n) +
                                  " (generation 0123456789abcdef) is missing");
  c = SplitManyStreams();
  c.chunks.push_back(c.chunks.back());
  EXPECT_EQ(AssembleError(c), "b/snap.3: checkpoint has " + std::to_string(n + 1) + " chunks, its head " +
                                  std::to_string(n));
  c = SplitManyStreams();
  c.chunks.erase(c.chunks.begin() + 1);  // a gap in the middle: the next one is out of place
  EXPECT_NE(AssembleError(c), "accepted");
  c.chunks.clear();
  EXPECT_NE(AssembleError(c), "accepted");
}

TEST(ClusterCheckpointTest, RefusesChunksOfAnotherGenerationOrOutOfPlace) {
  Chunked c = SplitManyStreams();
  // A chunk left over from an older write of the same partition, same size and place.
  const Chunked older = SplitManyStreams(40, kGeneration + 1);
  ASSERT_EQ(older.chunks.size(), c.chunks.size());
  c.chunks[1] = older.chunks[1];
  EXPECT_EQ(AssembleError(c), "b/snap.3: chunk 1 is not chunk 1 of generation 0123456789abcdef");
  c = SplitManyStreams();
  std::swap(c.chunks[0], c.chunks[2]);
  EXPECT_EQ(AssembleError(c), "b/snap.3: chunk 0 is not chunk 0 of generation 0123456789abcdef");
}

TEST(ClusterCheckpointTest, RefusesTruncatedOrDamagedChunks) {
  const Chunked good = SplitManyStreams();
  const std::string size_or_crc =
      "b/snap.3: checkpoint chunks do not add up to the body of generation 0123456789abcdef (size or CRC-32C differ)";
  for (size_t k = 0; k < good.chunks.size(); ++k) {
    Chunked c = good;
    c.chunks[k].pop_back();  // truncated
    EXPECT_EQ(AssembleError(c), size_or_crc) << k;
    c = good;
    c.chunks[k] += 'x';  // too long
    EXPECT_EQ(AssembleError(c), size_or_crc) << k;
    // Every flipped bit of the data is caught by the body's CRC-32C.
    for (size_t i = kChunkHeaderBytes; i < good.chunks[k].size(); i += 7) {
      c = good;
      c.chunks[k][i] = static_cast<char>(c.chunks[k][i] ^ 0x10);
      EXPECT_EQ(AssembleError(c), size_or_crc) << k << " " << i;
    }
  }
  Chunked c = good;
  c.chunks[0].resize(5);  // not even a chunk header
  EXPECT_EQ(AssembleError(c), "b/snap.3: chunk 0 is not chunk 0 of generation 0123456789abcdef");
}

TEST(ClusterCheckpointTest, RefusesDamagedOrTruncatedManifests) {
  auto parts = EncodeCheckpointParts(ManyStreams(40), kGeneration, kLimit);
  ASSERT_TRUE(parts.ok());
  const std::string& head = parts->head;
  for (size_t i = 12; i < head.size(); ++i) {
    std::string damaged = head;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x02);
    EXPECT_FALSE(DecodeCheckpointHead(damaged, "c").ok()) << i;
  }
  for (size_t n = 0; n < head.size(); ++n) EXPECT_FALSE(DecodeCheckpointHead(head.substr(0, n), "c").ok()) << n;
  EXPECT_EQ(DecodeCheckpointHead(head + "x", "c").status().message(), "c: chunked checkpoint head carries a body");
  // A well-formed head claiming more than the limit is refused before any chunk is read.
  CheckpointHead big = *DecodeCheckpointHead(head, "c");
  big.body_size = kMaxCheckpointBytes + 1;
  EXPECT_EQ(DecodeCheckpointHead(EncodeCheckpointHead(big), "c").status().message(),
            "c: checkpoint manifest out of range (" + std::to_string(big.chunks) + " chunks, " +
                std::to_string(kMaxCheckpointBytes + 1) + " bytes)");
}

TEST(ClusterCheckpointTest, ChunkingNeedsAGenerationAndRoom) {
  EXPECT_FALSE(EncodeCheckpointParts(ManyStreams(40), 0, kLimit).ok());
  EXPECT_FALSE(EncodeCheckpointParts(ManyStreams(40), kGeneration, kChunkHeaderBytes).ok());
}

TEST(ClusterCheckpointTest, Version1HeadsStillLoad) {
  // The version 1 layout, written out here as lstmad 0.1 wrote it.
  const Checkpoint want = ManyStreams(2);
  std::string v1 = "LSTMADCP";
  auto put = [&v1](auto value) {
    char bytes[sizeof(value)];
    std::memcpy(bytes, &value, sizeof(value));
    v1.append(bytes, sizeof(value));
  };
  put(uint32_t{1});
  put(uint64_t{want.sequence});
  put(uint64_t{want.delivered});
  put(static_cast<uint32_t>(want.owner.size()));
  v1 += want.owner;
  put(core::Crc32c(v1));
  v1 += EncodeSnapshot(want.streams);
  auto decoded = DecodeCheckpoint(v1, "c");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ExpectSameStreams(*decoded, want);
  EXPECT_EQ(decoded->stream, "");  // the single stream of its deployment
  // A fence rewrites it as the current version, body unchanged.
  auto head = DecodeCheckpointHead(v1, "c");
  ASSERT_TRUE(head.ok());
  head->owner = "node-3";
  head->stream = "LSTMAD_2";
  const std::string v3 = EncodeCheckpointHead(*head);
  EXPECT_EQ(v3[8], 3);
  auto again = DecodeCheckpoint(v3, "c");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->owner, "node-3");
  EXPECT_EQ(again->stream, "LSTMAD_2");
  EXPECT_EQ(again->streams.size(), 2u);
}

TEST(ClusterCheckpointTest, Version2HeadsLoadWithoutAStream) {
  // The version 2 layout (inline): as version 3 without the stream.
  Checkpoint want = ManyStreams(2);
  want.sequence = 41;
  want.delivered = 43;
  std::string v2 = "LSTMADCP";
  auto put = [&v2](auto value) {
    char bytes[sizeof(value)];
    std::memcpy(bytes, &value, sizeof(value));
    v2.append(bytes, sizeof(value));
  };
  put(uint32_t{2});
  put(uint64_t{want.sequence});
  put(uint64_t{want.delivered});
  put(static_cast<uint32_t>(want.owner.size()));
  v2 += want.owner;
  put(uint8_t{0});
  put(core::Crc32c(v2));
  v2 += EncodeSnapshot(want.streams);
  auto decoded = DecodeCheckpoint(v2, "c");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->sequence, 41u);
  EXPECT_EQ(decoded->delivered, 43u);
  EXPECT_EQ(decoded->stream, "");
  ExpectSameStreams(*decoded, want);
}

TEST(ClusterCheckpointTest, StreamRoundTripsInlineAndChunked) {
  Checkpoint want = ManyStreams(40);
  want.stream = "LSTMAD_7";
  auto inline_head = DecodeCheckpoint(EncodeCheckpoint(want), "c");
  ASSERT_TRUE(inline_head.ok()) << inline_head.status().message();
  EXPECT_EQ(inline_head->stream, "LSTMAD_7");
  auto parts = EncodeCheckpointParts(want, kGeneration, kLimit);
  ASSERT_TRUE(parts.ok());
  ASSERT_FALSE(parts->chunks.empty());
  auto head = DecodeCheckpointHead(parts->head, "c");
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_EQ(head->stream, "LSTMAD_7");
  auto assembled = AssembleCheckpoint(*head, parts->chunks, "c");
  ASSERT_TRUE(assembled.ok()) << assembled.status().message();
  EXPECT_EQ(assembled->stream, "LSTMAD_7");
  ExpectSameStreams(*assembled, want);
}

TEST(ClusterCheckpointTest, ChunkKeysNameTheGenerationAndIndex) {
  EXPECT_EQ(CheckpointChunkKey("snap.4", kGeneration, 12), "snap.4.0123456789abcdef.12");
  uint64_t g = 0;
  EXPECT_TRUE(ParseCheckpointChunkKey("snap.4.0123456789abcdef.12", "snap.4", &g));
  EXPECT_EQ(g, kGeneration);
  EXPECT_FALSE(ParseCheckpointChunkKey("snap.4", "snap.4", &g));
  EXPECT_FALSE(ParseCheckpointChunkKey("snap.40.0123456789abcdef.1", "snap.4", &g));
  EXPECT_FALSE(ParseCheckpointChunkKey("snap.4.0123456789abcdeX.1", "snap.4", &g));
  EXPECT_FALSE(ParseCheckpointChunkKey("snap.4.0123456789abcdef", "snap.4", &g));
}

}  // namespace
}  // namespace lstmad::daemon
