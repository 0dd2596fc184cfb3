// TrainOptions::cancelled: training stops at the next mini-batch once it says
// so, and a run it never cancels is the same as one without it.
#include <gtest/gtest.h>

#include "lstmad/core/architecture.h"
#include "lstmad/core/initializers.h"
#include "lstmad/core/trainer.h"
#include "lstmad/core/windows.h"

namespace lstmad::core {
namespace {

Network<float> SmallNet() {
  AutoencoderSpec spec;
  spec.timesteps = 4;
  spec.features = 2;
  spec.encoder_units = {3};
  spec.decoder_units = {3};
  spec.activation = Activation::kTanh;
  const Architecture arch = *BuildAutoencoder(spec);
  return *Network<float>::Create(arch, InitializeWeights<float>(arch, uint64_t{5}));
}

WindowSet<float> SomeWindows() {
  Matrix<float> series(2, 68);
  for (int i = 0; i < 68; ++i) {
    series(0, i) = static_cast<float>(i % 7) / 7.0f;
    series(1, i) = static_cast<float>(i % 5) / 5.0f;
  }
  return MakeWindows(series, 4);  // 65 windows: 9 batches of 8 per epoch (no validation split)
}

TEST(TrainerCancelTest, StopsAtTheNextBatchOnceCancelled) {
  Network<float> net = SmallNet();
  const Weights<float> before = net.weights();
  TrainOptions options;
  options.epochs = 3;
  options.batch_size = 8;
  options.validation_split = 0;
  int polls = 0;
  options.cancelled = [&] { return ++polls > 12; };  // the 13th batch: epoch 2's fourth
  Rng rng(1);
  const Result<TrainResult> trained = Train(&net, SomeWindows(), options, &rng);
  ASSERT_FALSE(trained.ok());
  EXPECT_EQ(trained.status().message(), "training cancelled in epoch 2");
  EXPECT_EQ(polls, 13);
  EXPECT_GT((net.weights().layers[0][0] - before.layers[0][0]).cwiseAbs().maxCoeff(), 0.0f);
}

TEST(TrainerCancelTest, NeverCancelledIsTheSameRun) {
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 8;
  options.validation_split = 0;
  Network<float> plain = SmallNet(), polled = SmallNet();
  Rng rng_a(1), rng_b(1);
  ASSERT_TRUE(Train(&plain, SomeWindows(), options, &rng_a).ok());
  int polls = 0;
  options.cancelled = [&] { return ++polls < 0; };
  ASSERT_TRUE(Train(&polled, SomeWindows(), options, &rng_b).ok());
  EXPECT_EQ(polls, 18);
  for (size_t l = 0; l < plain.weights().layers.size(); ++l) {
    for (size_t p = 0; p < plain.weights().layers[l].size(); ++p) {
      EXPECT_EQ(plain.weights().layers[l][p], polled.weights().layers[l][p]) << l << "," << p;
    }
  }
}

}  // namespace
}  // namespace lstmad::core
