// FlushDenormals: flush-to-zero and denormals-are-zero while it lives, in
// threads started meanwhile, and the previous mode back when it goes.
#include "lstmad/core/denormals.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <thread>

namespace lstmad::core {
namespace {

// volatile: computed when called, not folded by the compiler.
float TinyProduct() {
  volatile float a = 1e-30f, b = 1e-10f;  // 1e-40: a denormal
  return a * b;
}

// A denormal operand: with denormals-are-zero it counts as 0.
float DenormalTimesOne() {
  volatile float denormal = FLT_MIN / 1024, one = 1.0f;
  return denormal * one;
}

TEST(FlushDenormalsTest, FlushesWhileItLivesAndRestoresAfter) {
  if (!FlushDenormals::supported()) GTEST_SKIP() << "no flush-to-zero control on this CPU";
  ASSERT_GT(TinyProduct(), 0.0f) << "denormals are already flushed: the test cannot tell";
  ASSERT_GT(DenormalTimesOne(), 0.0f);
  {
    const FlushDenormals flush;
    EXPECT_EQ(TinyProduct(), 0.0f);
    EXPECT_EQ(DenormalTimesOne(), 0.0f);
    // Normal floats are untouched.
    volatile float x = 1e-20f, y = 1e-15f;
    EXPECT_FLOAT_EQ(x * y, 1e-35f);
  }
  EXPECT_GT(TinyProduct(), 0.0f);
  EXPECT_GT(DenormalTimesOne(), 0.0f);
}

TEST(FlushDenormalsTest, ThreadsStartedMeanwhileFlushToo) {
  if (!FlushDenormals::supported()) GTEST_SKIP() << "no flush-to-zero control on this CPU";
  float product = -1;
  {
    const FlushDenormals flush;
    std::thread worker([&product] { product = TinyProduct(); });
    worker.join();
  }
  EXPECT_EQ(product, 0.0f);
}

TEST(FlushDenormalsTest, NestedOnesRestoreInOrder) {
  if (!FlushDenormals::supported()) GTEST_SKIP() << "no flush-to-zero control on this CPU";
  {
    const FlushDenormals outer;
    {
      const FlushDenormals inner;
      EXPECT_EQ(TinyProduct(), 0.0f);
    }
    EXPECT_EQ(TinyProduct(), 0.0f);  // the outer one still holds
  }
  EXPECT_GT(TinyProduct(), 0.0f);
}

}  // namespace
}  // namespace lstmad::core
