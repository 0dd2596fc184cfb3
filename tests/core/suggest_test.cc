// "Did you mean": the edit distance on hand-counted pairs, and which
// candidate ClosestMatch offers for the typos the issue names.
#include "lstmad/core/suggest.h"

#include <gtest/gtest.h>

namespace lstmad::core {
namespace {

TEST(EditDistanceTest, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("lookbak", "lookback"), 1u);  // one insertion
  EXPECT_EQ(EditDistance("pumpp", "pump"), 1u);        // one deletion
  EXPECT_EQ(EditDistance("trian", "train"), 1u);       // one swap of neighbours
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);    // the textbook case
  EXPECT_EQ(EditDistance("ca", "abc"), 3u);            // OSA: a swapped pair is not edited again
  EXPECT_EQ(EditDistance("Train", "train"), 0u);       // ASCII case does not count
}

TEST(ClosestMatchTest, OffersTheNearestCandidateWithinTheLimit) {
  const std::vector<std::string> subcommands = {"serve", "train", "summary", "reconstruct", "score", "evaluate"};
  EXPECT_EQ(ClosestMatch("trian", subcommands), "train");
  EXPECT_EQ(ClosestMatch("sumary", subcommands), "summary");
  EXPECT_EQ(ClosestMatch("reconstrct", subcommands), "reconstruct");
  EXPECT_EQ(ClosestMatch("deploy", subcommands), std::nullopt);  // nothing near
  EXPECT_EQ(ClosestMatch("train", subcommands), std::nullopt);   // not a typo
  // Up to 4 characters one edit: "sco" is two from "score", not offered.
  EXPECT_EQ(ClosestMatch("sco", subcommands), std::nullopt);
  EXPECT_EQ(ClosestMatch("scor", subcommands), "score");
  // Ties go to the first candidate.
  EXPECT_EQ(ClosestMatch("ab", {"ac", "ad"}), "ac");
  EXPECT_EQ(ClosestMatch("x", {}), std::nullopt);
}

}  // namespace
}  // namespace lstmad::core
