// The batched forward pass allocates nothing once its workspace has seen the
// batch size. Counted by interposing malloc in this test binary; skipped
// under AddressSanitizer, which owns malloc there.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>

#include "lstmad/core/architecture.h"
#include "lstmad/core/initializers.h"
#include "lstmad/core/network.h"

#if defined(__SANITIZE_ADDRESS__)
#define LSTMAD_COUNT_MALLOC 0
#else
#define LSTMAD_COUNT_MALLOC 1
namespace {
std::atomic<long> g_mallocs{0};
}
extern "C" void* __libc_malloc(size_t);  // glibc's own allocator entry point
extern "C" void* malloc(size_t n) {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
#endif

namespace lstmad::core {
namespace {

void ExpectNoAllocationInSteadyState(int timesteps, int features, int batch) {
#if LSTMAD_COUNT_MALLOC
  AutoencoderSpec spec;
  spec.timesteps = timesteps;
  spec.features = features;
  const Architecture arch = BuildAutoencoder(spec).value();
  const Network<float> net = Network<float>::Create(arch, InitializeWeights<float>(arch, 1)).value();
  Matrix<float> input = Matrix<float>::Random(features, timesteps * batch), output;
  Network<float>::Workspace ws;
  net.Forward(input, batch, &ws, &output);  // sizes the workspace
  const long before = g_mallocs.load();
  for (int i = 0; i < 3; ++i) net.Forward(input, batch, &ws, &output);
  EXPECT_EQ(g_mallocs.load() - before, 0) << "T=" << timesteps << " F=" << features
                                          << " batch=" << batch;
#else
  (void)timesteps, (void)features, (void)batch;
  GTEST_SKIP() << "malloc is AddressSanitizer's here";
#endif
}

TEST(AllocationTest, ForwardAllocatesNothingInSteadyState) {
  for (int batch : {1, 32, 256}) {
    ExpectNoAllocationInSteadyState(3, 2, batch);
    ExpectNoAllocationInSteadyState(30, 8, batch);
  }
}

}  // namespace
}  // namespace lstmad::core
