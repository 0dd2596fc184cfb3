// A stream's tags as Prometheus labels: unescaped from the series key,
// names sanitised to Prometheus' rules, collisions given `exported_`.
#include "obs/stream_labels.h"

#include <gtest/gtest.h>

namespace lstmad::daemon {
namespace {

TEST(StreamLabelsTest, TagsComeUnescapedFromTheSeriesKey) {
  EXPECT_EQ(TagsOfStreamKey("pump,pump=p0001,site=north"), (LabelPairs{{"pump", "p0001"}, {"site", "north"}}));
  EXPECT_EQ(TagsOfStreamKey("pump"), LabelPairs{});
  // Line protocol's escapes: "hall 1" and "a,b=c" as values, "x y" as a key.
  EXPECT_EQ(TagsOfStreamKey("m\\,1,site=hall\\ 1,tag=a\\,b\\=c,x\\ y=z"),
            (LabelPairs{{"site", "hall 1"}, {"tag", "a,b=c"}, {"x y", "z"}}));
  EXPECT_EQ(TagsOfStreamKey("m,broken"), LabelPairs{});  // not a key the ingest builds: no labels
}

TEST(StreamLabelsTest, NamesFollowPrometheusRules) {
  EXPECT_EQ(SanitizeLabelName("site"), "site");
  EXPECT_EQ(SanitizeLabelName("Rack_2"), "Rack_2");
  EXPECT_EQ(SanitizeLabelName("host-name"), "host_name");
  EXPECT_EQ(SanitizeLabelName("2nd"), "_2nd");
  EXPECT_EQ(SanitizeLabelName("température"), "temp__rature");  // the two UTF-8 bytes of é
  EXPECT_EQ(SanitizeLabelName("x.y z"), "x_y_z");
}

TEST(StreamLabelsTest, CollisionsGetExportedAsPrometheusDoes) {
  const LabelPairs fixed = {{"model", "pump"}, {"stream", "s"}};
  EXPECT_EQ(StreamLabels(fixed, "pump,model=m2,site=north,stream=x"),
            (LabelPairs{{"model", "pump"},
                        {"stream", "s"},
                        {"exported_model", "m2"},
                        {"site", "north"},
                        {"exported_stream", "x"}}));
  // Two tags that sanitise alike, and a reserved name.
  EXPECT_EQ(StreamLabels(fixed, "pump,__name__=x,a-b=1,a_b=2"),
            (LabelPairs{{"model", "pump"},
                        {"stream", "s"},
                        {"exported___name__", "x"},
                        {"a_b", "1"},
                        {"exported_a_b", "2"}}));
}

}  // namespace
}  // namespace lstmad::daemon
