// StreamTable: finding streams among many, ring windows across wraps, keys
// of every length, scored state created lazily.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>
#include <string>

#include "ingest/stream_table.h"
#include "scoring/stream_state.h"

namespace lstmad::daemon {
namespace {

uint32_t Add(StreamTable* table, const std::string& key) {
  return table->Insert(key, StreamTable::Hash(key));
}

TEST(StreamTableTest, FindsEveryStreamAmongManyAcrossRehashes) {
  StreamTable table(3, 2);
  const int n = 50000;  // several rehashes and key blocks, 13 chunks of records
  for (int i = 0; i < n; ++i) {
    const std::string key = "m,s=" + std::to_string(i);
    ASSERT_EQ(table.Find(key, StreamTable::Hash(key)), StreamTable::kNone);
    ASSERT_EQ(Add(&table, key), static_cast<uint32_t>(i));
  }
  EXPECT_EQ(table.size(), static_cast<uint32_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::string key = "m,s=" + std::to_string(i);
    ASSERT_EQ(table.Find(key, StreamTable::Hash(key)), static_cast<uint32_t>(i)) << key;
    ASSERT_EQ(table.key(static_cast<uint32_t>(i)), key);
  }
  EXPECT_EQ(table.Find("m,s=-1", StreamTable::Hash("m,s=-1")), StreamTable::kNone);
}

TEST(StreamTableTest, KeysOfEveryLengthUpToTheLimit) {
  StreamTable table(1, 1);
  std::vector<std::string> keys;
  for (size_t length : {size_t{0}, size_t{1}, size_t{300}, size_t{40000}, size_t{40000}, StreamTable::kMaxKeyBytes}) {
    keys.push_back(std::string(length, static_cast<char>('a' + keys.size())));
    ASSERT_NE(Add(&table, keys.back()), StreamTable::kNone) << length;
  }
  EXPECT_EQ(Add(&table, std::string(StreamTable::kMaxKeyBytes + 1, 'z')), StreamTable::kNone);
  for (uint32_t id = 0; id < keys.size(); ++id) {
    EXPECT_EQ(table.key(id), keys[id]);
    EXPECT_EQ(table.Find(keys[id], StreamTable::Hash(keys[id])), id);
  }
}

TEST(StreamTableTest, WindowsFollowTheLastSamplesThroughManyWraps) {
  const int lookback = 4, features = 3;
  StreamTable table(lookback, features);
  const uint32_t a = Add(&table, "a"), b = Add(&table, "b");
  std::deque<std::vector<float>> recent;
  std::deque<int64_t> times;
  std::mt19937 rng(5);
  for (int i = 0; i < 23; ++i) {
    std::vector<float> sample(features);
    for (float& v : sample) v = static_cast<float>(rng() % 1000);
    const float other[features] = {-1, -2, -3};
    table.Append(b, other, -i);  // interleaved stream: must not disturb a
    const bool complete = table.Append(a, sample.data(), 100 + i * 7);
    recent.push_back(sample);
    times.push_back(100 + i * 7);
    if (recent.size() > lookback) {
      recent.pop_front();
      times.pop_front();
    }
    ASSERT_EQ(complete, i + 1 >= lookback) << i;
    if (!complete) continue;
    float window[lookback * features];
    table.CopyWindow(a, window);
    const auto rows = static_cast<size_t>(lookback), cols = static_cast<size_t>(features);
    for (size_t t = 0; t < rows; ++t) {
      for (size_t f = 0; f < cols; ++f) ASSERT_EQ(window[t * cols + f], recent[t][f]) << i << " " << t;
    }
    ASSERT_EQ(table.window_start_ns(a), times.front());
    ASSERT_EQ(table.window_end_ns(a), times.back());
    // Strided, as for a model with time inputs: each step's values, then
    // room (here 2 slots) the copy leaves untouched; and each step's time.
    constexpr int stride = features + 2;
    float strided[lookback * stride];
    std::fill(strided, strided + lookback * stride, 99.0f);
    table.CopyWindow(a, strided, stride);
    for (size_t t = 0; t < rows; ++t) {
      for (size_t f = 0; f < cols; ++f) ASSERT_EQ(strided[t * stride + f], recent[t][f]) << i << " " << t;
      ASSERT_EQ(strided[t * stride + cols], 99.0f);
      ASSERT_EQ(strided[t * stride + cols + 1], 99.0f);
      ASSERT_EQ(table.step_time_ns(a, static_cast<int>(t)), times[t]) << i << " " << t;
    }
    // A snapshot taken now and loaded elsewhere gives the same window.
    const StreamSnapshot saved = table.Save(a, "m");
    ASSERT_EQ(saved.samples, i + 1);  // the total, not just the ring's T
    StreamTable copy(lookback, features);
    const uint32_t c = Add(&copy, "a");
    copy.Load(c, saved);
    float restored[lookback * features];
    copy.CopyWindow(c, restored);
    ASSERT_TRUE(std::equal(window, window + lookback * features, restored));
    ASSERT_EQ(copy.window_end_ns(c), times.back());
    ASSERT_EQ(copy.Save(c, "m").samples, i + 1);
  }
}

TEST(StreamTableTest, ScoredStateIsCreatedOnceAndKeepsItsAddress) {
  StreamTable table(2, 1);
  const uint32_t id = Add(&table, "pump,id=7");
  // Scoring's state of the table's streams, by the same numbers.
  StreamStates states;
  EXPECT_EQ(states.Find(id), nullptr);
  StreamScoringState* scored = states.GetOrCreate(id, table.key(id));
  EXPECT_EQ(scored->key, "pump,id=7");
  for (int i = 0; i < 10000; ++i) {
    const uint32_t other = Add(&table, "pump,id=x" + std::to_string(i));
    if (i % 3 == 0) states.GetOrCreate(other, table.key(other));
  }
  EXPECT_EQ(states.GetOrCreate(id, table.key(id)), scored);
  EXPECT_EQ(states.Find(id), scored);
}

}  // namespace
}  // namespace lstmad::daemon
