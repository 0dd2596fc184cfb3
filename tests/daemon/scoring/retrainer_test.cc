// The Retrainer around RetrainModel: which scored windows it keeps, when it
// skips, how a passing candidate reaches `install` and what Installed() does
// with the verdict, the counters, and that Stop() interrupts a fine-tune.
#include "scoring/retrainer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "daemon/support/log_writers.h"
#include "lstmad/core/model_file.h"
#include "obs/logging.h"
#include "retrain_test_support.h"

namespace lstmad::daemon {
namespace {

using retrain_test::kRetrainLookback;
using retrain_test::PatternA;
using retrain_test::RawWindows;
using retrain_test::Series;
using testing::LogCapture;

std::shared_ptr<const ModelRuntime> Runtime(Metrics* metrics, const core::Model& model,
                                            config::RetrainSettings retrain) {
  config::ModelSettings settings;
  settings.name = "pump";
  settings.measurement = "pump";
  settings.retrain = retrain;
  auto runtime = std::make_shared<ModelRuntime>(
      ModelRuntime{settings, model, *model.MakeNetwork(), model.threshold, {}});
  RegisterMetrics(runtime.get(), metrics);
  return runtime;
}

config::RetrainSettings Every(double seconds, int min_windows, int epochs = 8) {
  config::RetrainSettings r;
  r.every_s = seconds;
  r.min_windows = min_windows;
  r.max_windows = 4000;
  r.epochs = epochs;
  return r;
}

std::shared_ptr<StreamScoringState> MakeStream(const std::string& key) {
  auto stream = std::make_shared<StreamScoringState>();
  stream->key = key;
  return stream;
}

// Scored windows as the scorer reports them: every window of `windows`, of
// stream `stream`, with error `error` each.
struct Scored {
  std::vector<WindowJob> jobs;
  std::vector<const WindowJob*> pointers;
  std::vector<float> errors;
  std::vector<uint8_t> verdicts;  // kVerdict* bits: every window normal unless a test says otherwise
};
Scored Score(const std::shared_ptr<const ModelRuntime>& model, const std::shared_ptr<StreamScoringState>& stream,
             const core::WindowSet<float>& windows, float error) {
  Scored s;
  const size_t stride = static_cast<size_t>(kRetrainLookback) * 2;
  for (int n = 0; n < windows.count; ++n) {
    WindowJob job;
    job.model = model;
    job.stream = stream.get();
    const float* first = windows.data.data() + stride * static_cast<size_t>(n);
    job.window.assign(first, first + stride);
    s.jobs.push_back(std::move(job));
    s.errors.push_back(error);
    s.verdicts.push_back(0);
  }
  for (const WindowJob& j : s.jobs) s.pointers.push_back(&j);
  return s;
}

void Feed(Retrainer* r, const std::shared_ptr<const ModelRuntime>& model,
          const std::shared_ptr<StreamScoringState>& stream, const core::WindowSet<float>& windows) {
  Scored s = Score(model, stream, windows, 0);
  r->OnScored(*model, s.pointers.data(), s.errors.data(), s.verdicts.data(), static_cast<int>(s.jobs.size()));
}

// The exposition's text of a series' value, or "absent".
std::string Value(const Metrics& metrics, const std::string& series) {
  const std::string text = metrics.Scrape();
  const std::string key = series + " ";
  const size_t at = text.find(key);
  return at == std::string::npos ? "absent"
                                 : text.substr(at + key.size(), text.find('\n', at) - at - key.size());
}

std::string Counter(const Metrics& metrics, const char* result) {
  return Value(metrics, std::string("lstmad_model_retrains_total{model=\"pump\",result=\"") + result + "\"}");
}

TEST(RetrainerTest, KeepsOnlyWindowsAtOrBelowTheThresholdOfStreamsNotFiring) {
  Metrics metrics("test");
  auto model = Runtime(&metrics, PatternA(), Every(3600, 10));
  ModelSet set;
  set.models = {model};
  Retrainer retrainer(&metrics, "", [](RetrainCandidate) {});
  retrainer.Configure(set);
  auto quiet = MakeStream("pump,id=1");
  auto firing = MakeStream("pump,id=2");
  const core::WindowSet<float> windows = RawWindows(Series(kRetrainLookback + 4, 0, 1, 0));  // 5 windows
  Scored s = Score(model, quiet, windows, 0);
  const float t = static_cast<float>(model->threshold);
  s.errors = {t / 2, 2 * t, t, t / 3, 0};
  // The fixed threshold's verdict; window 4's stream's alert is firing.
  s.verdicts = {0, kVerdictAnomalous, 0, 0, kVerdictAlertFiring};
  s.jobs[4].stream = firing.get();
  retrainer.OnScored(*model, s.pointers.data(), s.errors.data(), s.verdicts.data(), 5);
  EXPECT_EQ(retrainer.collected("pump"), 3);  // windows 0, 2 and 3
  // An adaptive detector's verdict rules, not the model's threshold: window 1
  // (above the model's threshold) was normal for its stream, window 3 (below
  // it) anomalous.
  s.verdicts = {0, 0, 0, kVerdictAnomalous, kVerdictAlertFiring};
  retrainer.OnScored(*model, s.pointers.data(), s.errors.data(), s.verdicts.data(), 5);
  EXPECT_EQ(retrainer.collected("pump"), 6);  // plus windows 0, 1 and 2
  for (const char* result : {"swapped", "rejected", "skipped", "failed", "discarded"}) {
    EXPECT_EQ(Counter(metrics, result), "0") << result;  // every series exists from the start
  }
}

TEST(RetrainerTest, SkipsUntilEnoughWindowsThenInstallsTheBetterModel) {
  Metrics metrics("test");
  auto model = Runtime(&metrics, PatternA(), Every(3600, 300));
  ModelSet set;
  set.models = {model};
  std::vector<RetrainCandidate> installed;
  Retrainer retrainer(&metrics, "", [&](RetrainCandidate c) { installed.push_back(std::move(c)); });
  retrainer.Configure(set);
  auto stream = MakeStream("pump");
  const core::Matrix<double> drifted = Series(600, 0.7, 1.25, 1000);
  Feed(&retrainer, model, stream, RawWindows(drifted.leftCols(200)));  // 193 windows
  EXPECT_EQ(retrainer.RetrainNow("pump"), RetrainResult::kSkipped);
  EXPECT_EQ(Counter(metrics, "skipped"), "1");
  EXPECT_TRUE(installed.empty());

  Feed(&retrainer, model, stream, RawWindows(drifted.rightCols(400)));  // 393 more
  EXPECT_EQ(retrainer.collected("pump"), 586);
  EXPECT_EQ(retrainer.RetrainNow("pump"), RetrainResult::kSwapped);
  ASSERT_EQ(installed.size(), 1u);
  const RetrainCandidate& c = installed[0];
  EXPECT_EQ(c.replaces, model);
  EXPECT_LT(c.outcome.new_error, 0.5 * c.outcome.old_error);
  EXPECT_EQ(c.runtime->threshold, c.outcome.new_threshold);
  EXPECT_EQ(c.runtime->metrics.windows_scored, model->metrics.windows_scored);  // handles kept
  EXPECT_EQ(Counter(metrics, "swapped"), "0");  // only once the io thread has swapped it in

  auto next = ReplaceModel(set, model.get(), c.runtime);
  ASSERT_NE(next, nullptr);
  ASSERT_EQ(next->models.size(), 1u);
  EXPECT_EQ(next->models[0], c.runtime);
  retrainer.Installed(c, true);
  EXPECT_EQ(Counter(metrics, "swapped"), "1");
  EXPECT_EQ(retrainer.collected("pump"), 0);  // the next try validates on new windows
  EXPECT_NEAR(std::stod(Value(metrics, "lstmad_model_threshold{model=\"pump\"}")), c.runtime->threshold,
              1e-9 * c.runtime->threshold);
}

TEST(RetrainerTest, RefusesAWorseModelAndKeepsTheRunningOne) {
  Metrics metrics("test");
  core::Model harsh = PatternA();
  harsh.metadata["learning_rate"] = "0.02";
  auto model = Runtime(&metrics, harsh, Every(3600, 300, 5));
  ModelSet set;
  set.models = {model};
  int installs = 0;
  Retrainer retrainer(&metrics, "", [&](RetrainCandidate) { ++installs; });
  retrainer.Configure(set);
  core::Matrix<double> series = Series(600, 0, 1, 2000);
  for (int i = 0; i < 470; ++i) {
    series(0, i) = (i / 5) % 2 == 0 ? 3.0 : -3.0;
    series(1, i) = 2.0;
  }
  Feed(&retrainer, model, MakeStream("pump"), RawWindows(series));
  EXPECT_EQ(retrainer.RetrainNow("pump"), RetrainResult::kRejected);
  EXPECT_EQ(installs, 0);
  EXPECT_EQ(Counter(metrics, "rejected"), "1");
  EXPECT_EQ(retrainer.collected("pump"), 593);  // kept: more windows may yet make a better model
}

TEST(RetrainerTest, ADivergingFineTuneIsCountedAsFailed) {
  Metrics metrics("test");
  core::Model wild = PatternA();
  wild.metadata["learning_rate"] = "1e30";  // Adam's steps are about this size: floats overflow
  auto model = Runtime(&metrics, wild, Every(3600, 100, 2));
  ModelSet set;
  set.models = {model};
  int installs = 0;
  Retrainer retrainer(&metrics, "", [&](RetrainCandidate) { ++installs; });
  retrainer.Configure(set);
  Feed(&retrainer, model, MakeStream("pump"),
       RawWindows(Series(300, 0.7, 1.25, 0)));
  EXPECT_EQ(retrainer.RetrainNow("pump"), RetrainResult::kFailed);
  EXPECT_EQ(installs, 0);
  EXPECT_EQ(Counter(metrics, "failed"), "1");
  EXPECT_EQ(Counter(metrics, "swapped"), "0");
}

TEST(RetrainerTest, ACandidateOvertakenByAReloadIsDiscarded) {
  Metrics metrics("test");
  auto model = Runtime(&metrics, PatternA(), Every(3600, 300));
  auto reloaded = Runtime(&metrics, PatternA(), Every(3600, 300));
  ModelSet before, after;
  before.models = {model};
  after.models = {reloaded};
  Retrainer retrainer(&metrics, "", [](RetrainCandidate) {});
  retrainer.Configure(before);
  retrainer.Configure(after);
  const RetrainCandidate candidate{model, reloaded, {}};
  EXPECT_EQ(ReplaceModel(after, candidate.replaces.get(), candidate.runtime), nullptr);
  retrainer.Installed(candidate, false);
  EXPECT_EQ(Counter(metrics, "discarded"), "1");
  EXPECT_EQ(Counter(metrics, "swapped"), "0");
}

TEST(RetrainerTest, StopInterruptsAFineTuneInProgress) {
  // The Retrainer says "retraining" on the log just before it fine-tunes:
  // the only sign it gives that a try has begun.
  LogCapture log;
  Metrics metrics("test");
  // 1000 epochs over 4000 windows: about 15 s of work unless interrupted.
  auto model = Runtime(&metrics, PatternA(), Every(1, 100, 1000));
  ModelSet set;
  set.models = {model};
  int installs = 0;
  Retrainer retrainer(&metrics, "", [&](RetrainCandidate) { ++installs; });
  retrainer.Configure(set);
  Feed(&retrainer, model, MakeStream("pump"),
       RawWindows(Series(4007, 0.7, 1.25, 0)));
  const std::string started = "retraining model=pump windows=" + std::to_string(retrainer.collected("pump"));
  retrainer.Start();
  // The first try is due one second after Configure.
  ASSERT_TRUE(log.WaitFor(started, std::chrono::seconds(10))) << log.Text();
  // Some mini-batches in, so the stop lands mid-epoch rather than before the first.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const auto stop_called = std::chrono::steady_clock::now();
  retrainer.Stop();
  const auto stop_took = std::chrono::steady_clock::now() - stop_called;
  // Cancellation is polled before every mini-batch (a few ms each here); the
  // bound leaves room for a loaded machine and is far below the full ~15 s.
  EXPECT_LT(stop_took, std::chrono::seconds(2)) << std::chrono::duration<double>(stop_took).count() << " s";
  EXPECT_TRUE(log.WaitFor("retraining interrupted by shutdown model=pump", std::chrono::seconds(1)))
      << log.Text();
  EXPECT_EQ(installs, 0);
  for (const char* result : {"swapped", "rejected", "skipped", "failed"}) {
    EXPECT_EQ(Counter(metrics, result), "0") << result;
  }
}

TEST(RetrainerTest, NoNewTryWhileACandidateAwaitsTheIoThread) {
  // A try that started before the io thread swapped the last candidate in
  // would train from the runtime being replaced, and its result would be
  // discarded. The Retrainer waits for Installed() instead.
  LogCapture log;
  Metrics metrics("test");
  auto model = Runtime(&metrics, PatternA(), Every(0.01, 300, 2));
  ModelSet set;
  set.models = {model};
  std::mutex mutex;
  std::vector<RetrainCandidate> installed;
  Retrainer retrainer(&metrics, "", [&](RetrainCandidate c) {
    std::lock_guard lock(mutex);
    installed.push_back(std::move(c));
  });
  retrainer.Configure(set);
  Feed(&retrainer, model, MakeStream("pump"), RawWindows(Series(600, 0.7, 1.25, 1000)));
  auto installs = [&] {
    std::lock_guard lock(mutex);
    return installed.size();
  };
  retrainer.Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (installs() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(installs(), 1u);
  // Many `every`s pass; without the wait each would post another candidate.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(installs(), 1u);

  RetrainCandidate candidate;
  {
    std::lock_guard lock(mutex);
    candidate = installed[0];
  }
  retrainer.Installed(candidate, true);
  // The loop goes on: the ring was cleared, so the next try is skipped.
  EXPECT_TRUE(log.WaitFor("retraining skipped: too few normal windows", std::chrono::seconds(10))) << log.Text();
  retrainer.Stop();
  EXPECT_EQ(Counter(metrics, "swapped"), "1");
  EXPECT_EQ(Counter(metrics, "discarded"), "0");
  EXPECT_EQ(Counter(metrics, "failed"), "0");
  EXPECT_EQ(installs(), 1u);
}

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The model used to go to path.tmp through SaveModel (which itself wrote
// path.tmp.tmp and renamed it) and was then renamed again.
TEST(RetrainerTest, WritesTheSwappedInModelOnceAndReplacesTheOldFileAtomically) {
  const std::filesystem::path state =
      std::filesystem::temp_directory_path() / ("lstmad_retrainer_" + std::to_string(::getpid()));
  std::filesystem::remove_all(state);
  const std::string path = RetrainedModelPath(state.string(), "pump");
  EXPECT_EQ(path, (state / "models" / "pump.lstmad").string());

  ASSERT_TRUE(SaveRetrainedModel(state.string(), "pump", PatternA()).ok());  // creates models/
  // A hard link to the old file: replacing by rename leaves its bytes as they
  // were; writing over it in place would change them.
  const std::filesystem::path old_link = state / "old.lstmad";
  std::filesystem::create_hard_link(path, old_link);
  const std::string old_bytes = ReadAll(path);

  core::Model retrained = PatternA();
  retrained.threshold = 2 * PatternA().threshold + 1;
  ASSERT_TRUE(SaveRetrainedModel(state.string(), "pump", retrained).ok());
  EXPECT_EQ(ReadAll(old_link), old_bytes);
  EXPECT_EQ(ReadAll(path), core::SerializeModel(retrained));
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(state / "models")) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"pump.lstmad"});  // no .tmp left
  const core::Result<core::Model> loaded = core::LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->threshold, retrained.threshold);
  std::filesystem::remove_all(state);
}

TEST(RetrainedModelFile, NeverReplacesADeviceOrADirectory) {
  const std::filesystem::path state =
      std::filesystem::temp_directory_path() / ("lstmad_retrainer_dev_" + std::to_string(::getpid()));
  std::filesystem::remove_all(state);
  std::filesystem::create_directories(state / "models");
  const std::string path = RetrainedModelPath(state.string(), "pump");
  std::filesystem::create_symlink("/dev/null", path);
  const core::Status to_device = SaveRetrainedModel(state.string(), "pump", PatternA());
  EXPECT_TRUE(to_device.IsInvalid());
  EXPECT_EQ(to_device.message(), path + ": not a regular file (a character device): refusing to replace it");
  EXPECT_EQ(std::filesystem::read_symlink(path), "/dev/null");
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
  std::filesystem::remove(path);
  std::filesystem::create_directories(path);
  const core::Status to_directory = SaveRetrainedModel(state.string(), "pump", PatternA());
  EXPECT_EQ(to_directory.message(), path + ": not a regular file (a directory): refusing to replace it");
  EXPECT_TRUE(std::filesystem::is_directory(path));
  std::filesystem::remove_all(state);
}

}  // namespace
}  // namespace lstmad::daemon
