// FeatureAssembler against hand-computed cases: pieces of one time make one
// vector; tolerance joins nearby times; an incomplete vector waits, then
// carries missing fields forward at most carry_forward times, else is
// dropped; a newer complete vector resolves older ones first (time order);
// at most max_pending incomplete vectors per stream; renumbering keeps the
// kept streams' pieces.
#include "ingest/feature_assembler.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "daemon/support/time_units.h"

namespace lstmad::daemon {
namespace {

struct Emitted {
  uint32_t stream;
  int64_t time_ns;
  std::vector<float> values;
  int carried;
  bool operator==(const Emitted&) const = default;
};

struct Drop {
  uint32_t stream;
  int64_t time_ns;
  int missing;
  bool operator==(const Drop&) const = default;
};

// Records what the assembler emits; Last() is the stream's last emission.
class RecordingAssemblySink : public AssemblySink {
 public:
  const float* Last(uint32_t stream) override {
    auto it = last_.find(stream);
    return it == last_.end() ? nullptr : it->second.data();
  }
  void Emit(uint32_t stream, int64_t time_ns, std::span<const float> values, int carried) override {
    emitted.push_back(Emitted{stream, time_ns, {values.begin(), values.end()}, carried});
    last_[stream] = emitted.back().values;
  }
  void Dropped(uint32_t stream, int64_t time_ns, int missing) override {
    dropped.push_back(Drop{stream, time_ns, missing});
  }
  std::vector<Emitted> emitted;
  std::vector<Drop> dropped;

 private:
  std::map<uint32_t, std::vector<float>> last_;
};

config::AssemblySettings Settings(double tolerance_s, double wait_s, int carry_forward, int max_pending = 8) {
  config::AssemblySettings s;
  s.enabled = true;
  s.tolerance_s = tolerance_s;
  s.wait_s = wait_s;
  s.carry_forward = carry_forward;
  s.max_pending = max_pending;
  return s;
}

using testing::kS;

void Add(FeatureAssembler* a, RecordingAssemblySink* sink, uint32_t stream, int64_t time_ns,
         std::vector<FeaturePiece> pieces, int64_t now_ns = 0) {
  a->Add(PartialSample{stream, time_ns, pieces}, now_ns, sink);
}

TEST(FeatureAssemblerTest, WholeVectorPassesStraightThroughWithoutState) {
  FeatureAssembler a(3, Settings(0, 5, 3));
  RecordingAssemblySink sink;
  Add(&a, &sink, 7, 100, {{2, 3.0f}, {0, 1.0f}, {1, 2.0f}});
  EXPECT_EQ(sink.emitted, (std::vector<Emitted>{{7, 100, {1, 2, 3}, 0}}));
  EXPECT_FALSE(a.Holds(7));
  EXPECT_EQ(a.pending_vectors(), 0u);
}

TEST(FeatureAssemblerTest, FieldsOnSeparateLinesMakeOneVectorWhenTheLastArrives) {
  FeatureAssembler a(3, Settings(0, 5, 3));
  RecordingAssemblySink sink;
  Add(&a, &sink, 1, 100, {{0, 1.0f}});
  Add(&a, &sink, 1, 100, {{2, 3.0f}});
  EXPECT_TRUE(sink.emitted.empty());
  EXPECT_EQ(a.pending_vectors(), 1u);
  Add(&a, &sink, 1, 100, {{1, 2.0f}});
  EXPECT_EQ(sink.emitted, (std::vector<Emitted>{{1, 100, {1, 2, 3}, 0}}));
  EXPECT_EQ(a.pending_vectors(), 0u);
  EXPECT_FALSE(a.Holds(1));  // nothing pending, nothing carried: forgotten
}

TEST(FeatureAssemblerTest, ALaterPieceForTheSameFeatureOverwrites) {
  FeatureAssembler a(2, Settings(0, 5, 3));
  RecordingAssemblySink sink;
  Add(&a, &sink, 1, 100, {{0, 1.0f}});
  Add(&a, &sink, 1, 100, {{0, 9.0f}});
  Add(&a, &sink, 1, 100, {{1, 2.0f}});
  EXPECT_EQ(sink.emitted, (std::vector<Emitted>{{1, 100, {9, 2}, 0}}));
}

TEST(FeatureAssemblerTest, ToleranceJoinsPiecesCloseInTimeAtTheFirstPiecesTime) {
  FeatureAssembler a(2, Settings(5e-9, 5, 3));  // 5 ns
  RecordingAssemblySink sink;
  Add(&a, &sink, 1, 100, {{0, 1.0f}});
  Add(&a, &sink, 1, 106, {{1, 7.0f}});  // 6 ns away: another vector
  EXPECT_EQ(a.pending_vectors(), 2u);
  Add(&a, &sink, 1, 104, {{1, 2.0f}});  // 4 ns from 100, 2 from 106: the closest, 106
  EXPECT_TRUE(sink.emitted.empty());
  Add(&a, &sink, 1, 103, {{1, 5.0f}});  // 3 from 100, 3 from 106: a tie goes to the older, 100
  EXPECT_EQ(sink.emitted, (std::vector<Emitted>{{1, 100, {1, 5}, 0}}));
  EXPECT_EQ(a.pending_vectors(), 1u);  // 106 still waits for a
}

TEST(FeatureAssemblerTest, AfterTheWaitAMissingFieldTakesItsLastValue) {
  FeatureAssembler a(3, Settings(0, 5, 3));
  RecordingAssemblySink sink;
  Add(&a, &sink, 1, 0, {{0, 1.0f}, {1, 2.0f}, {2, 3.0f}});
  Add(&a, &sink, 1, 10 * kS, {{0, 5.0f}}, /*now_ns=*/100 * kS);
  a.Expire(105 * kS - 1, &sink);
  EXPECT_EQ(sink.emitted.size(), 1u);  // still waiting
  a.Expire(105 * kS, &sink);
  ASSERT_EQ(sink.emitted.size(), 2u);
  EXPECT_EQ(sink.emitted[1], (Emitted{1, 10 * kS, {5, 2, 3}, 2}));
}

TEST(FeatureAssemblerTest, CarriesAFieldForwardAtMostCarryForwardTimesThenDrops) {
  FeatureAssembler a(2, Settings(0, 0, 2));  // wait 0: resolved as soon as added
  RecordingAssemblySink sink;
  Add(&a, &sink, 1, 0, {{0, 1.0f}, {1, 2.0f}});
  Add(&a, &sink, 1, 10, {{0, 3.0f}});
  Add(&a, &sink, 1, 20, {{0, 4.0f}});
  Add(&a, &sink, 1, 30, {{0, 5.0f}});
  EXPECT_EQ(sink.emitted, (std::vector<Emitted>{{1, 0, {1, 2}, 0}, {1, 10, {3, 2}, 1}, {1, 20, {4, 2}, 1}}));
  EXPECT_EQ(sink.dropped, (std::vector<Drop>{{1, 30, 1}}));
  // Field b arrives again: its count starts over.
  Add(&a, &sink, 1, 40, {{0, 6.0f}, {1, 8.0f}});
  Add(&a, &sink, 1, 50, {{0, 7.0f}});
  EXPECT_EQ(sink.emitted.back(), (Emitted{1, 50, {7, 8}, 1}));
}

TEST(FeatureAssemblerTest, DropsAnIncompleteVectorOfAStreamWithNoEarlierVector) {
  FeatureAssembler a(2, Settings(0, 1, 3));
  RecordingAssemblySink sink;
  Add(&a, &sink, 4, 10, {{1, 1.0f}}, 0);
  a.Expire(kS, &sink);
  EXPECT_TRUE(sink.emitted.empty());
  EXPECT_EQ(sink.dropped, (std::vector<Drop>{{4, 10, 0}}));
  EXPECT_EQ(a.pending_vectors(), 0u);
  EXPECT_FALSE(a.Holds(4));
}

TEST(FeatureAssemblerTest, ANewerCompleteVectorResolvesOlderOnesFirst) {
  FeatureAssembler a(2, Settings(0, 60, 3));
  RecordingAssemblySink sink;
  Add(&a, &sink, 1, 0, {{0, 1.0f}, {1, 2.0f}});
  Add(&a, &sink, 1, 10, {{1, 3.0f}});
  Add(&a, &sink, 1, 20, {{0, 4.0f}});
  Add(&a, &sink, 1, 20, {{1, 5.0f}});  // completes 20: 10 goes first, carrying a
  EXPECT_EQ(sink.emitted,
            (std::vector<Emitted>{{1, 0, {1, 2}, 0}, {1, 10, {1, 3}, 1}, {1, 20, {4, 5}, 0}}));
  EXPECT_EQ(a.pending_vectors(), 0u);
}

TEST(FeatureAssemblerTest, AWaitThatEndsResolvesOlderVectorsWithIt) {
  FeatureAssembler a(2, Settings(0, 5, 3));
  RecordingAssemblySink sink;
  Add(&a, &sink, 1, 0, {{0, 1.0f}, {1, 2.0f}});
  Add(&a, &sink, 1, 20, {{0, 4.0f}}, /*now_ns=*/0);      // waits until 5 s
  Add(&a, &sink, 1, 10, {{1, 3.0f}}, /*now_ns=*/3 * kS);  // older, waits until 8 s
  a.Expire(5 * kS, &sink);
  EXPECT_EQ(sink.emitted, (std::vector<Emitted>{{1, 0, {1, 2}, 0}, {1, 10, {1, 3}, 1}, {1, 20, {4, 3}, 1}}));
}

TEST(FeatureAssemblerTest, HoldsAtMostMaxPendingVectorsPerStream) {
  FeatureAssembler a(2, Settings(0, 60, 3, /*max_pending=*/2));
  RecordingAssemblySink sink;
  Add(&a, &sink, 1, 10, {{0, 1.0f}});
  Add(&a, &sink, 1, 20, {{0, 2.0f}});
  EXPECT_EQ(a.pending_vectors(), 2u);
  Add(&a, &sink, 1, 30, {{0, 3.0f}});  // the oldest makes room: no history, dropped
  EXPECT_EQ(sink.dropped, (std::vector<Drop>{{1, 10, 1}}));
  EXPECT_EQ(a.pending_vectors(), 2u);
  Add(&a, &sink, 1, 30, {{1, 6.0f}});  // completes 30; 20 has nothing to carry from either
  EXPECT_EQ(sink.dropped, (std::vector<Drop>{{1, 10, 1}, {1, 20, 1}}));
  EXPECT_EQ(sink.emitted, (std::vector<Emitted>{{1, 30, {3, 6}, 0}}));
  EXPECT_EQ(a.pending_vectors(), 0u);
}

TEST(FeatureAssemblerTest, RenumberKeepsKeptStreamsAndDiscardsGoneOnes) {
  FeatureAssembler a(2, Settings(0, 60, 3));
  RecordingAssemblySink sink;
  Add(&a, &sink, 0, 10, {{0, 1.0f}});
  Add(&a, &sink, 1, 10, {{0, 2.0f}});
  a.Renumber([](uint32_t old_id) { return old_id == 0 ? UINT32_MAX : 0u; });
  EXPECT_EQ(a.pending_vectors(), 1u);
  EXPECT_FALSE(a.Holds(1));
  Add(&a, &sink, 0, 10, {{1, 3.0f}});
  EXPECT_EQ(sink.emitted, (std::vector<Emitted>{{0, 10, {2, 3}, 0}}));
}

}  // namespace
}  // namespace lstmad::daemon
