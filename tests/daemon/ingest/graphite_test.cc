// Graphite plaintext: exact parses, bad lines refused with the column and
// what is wrong, the same lines whatever the byte chunking; templates map
// paths to measurement, tags and field as docs/ingest-graphite.md says,
// including the collectd write_graphite paths it documents.
#include "ingest/graphite.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/support/time_units.h"

namespace lstmad::daemon {
namespace {

using testing::kS;

GraphiteLine ParsedGraphite(std::string_view line) {
  GraphiteLine out;
  ParseError error;
  EXPECT_EQ(ParseGraphiteLine(line, &out, &error), ParseResult::kPoint) << line << ": " << error.message;
  return out;
}

ParseError Refused(std::string_view line) {
  GraphiteLine out;
  ParseError error;
  EXPECT_EQ(ParseGraphiteLine(line, &out, &error), ParseResult::kError) << line;
  return error;
}

TEST(GraphiteParseTest, ReadsPathValueAndTimestamp) {
  const GraphiteLine l = ParsedGraphite("collectd.web1.load.load.shortterm 0.25 1700000000");
  EXPECT_EQ(l.path, "collectd.web1.load.load.shortterm");
  EXPECT_EQ(l.value, 0.25);
  EXPECT_EQ(l.timestamp_ns, 1700000000 * kS);
}

TEST(GraphiteParseTest, TabsRepeatedBlanksCarriageReturnAndFractionalSeconds) {
  const GraphiteLine l = ParsedGraphite("a.b\t-1e3   1700000000.5\r");
  EXPECT_EQ(l.path, "a.b");
  EXPECT_EQ(l.value, -1000.0);
  EXPECT_EQ(l.timestamp_ns, 1700000000 * kS + 500'000'000);
}

TEST(GraphiteParseTest, NoTimestampOrMinusOneMeansTheDaemonsClock) {
  EXPECT_FALSE(ParsedGraphite("a.b 1").timestamp_ns.has_value());
  EXPECT_FALSE(ParsedGraphite("a.b 1 -1").timestamp_ns.has_value());
}

TEST(GraphiteParseTest, BlankLinesAreSkipped) {
  GraphiteLine out;
  ParseError error;
  EXPECT_EQ(ParseGraphiteLine("", &out, &error), ParseResult::kSkipped);
  EXPECT_EQ(ParseGraphiteLine("  \t\r", &out, &error), ParseResult::kSkipped);
}

TEST(GraphiteParseTest, BadLinesNameTheColumnAndWhatIsWrong) {
  struct Case {
    std::string line;
    size_t column;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"a.b", 4, "missing value after the path"},
      {"a.b x1 5", 5, "value is not a number"},
      {"a.b 1.5.2 5", 5, "value is not a number"},
      {"a..b 1 5", 3, "empty part in the path ('..')"},
      {".a 1 5", 1, "path starts or ends with '.'"},
      {"a.b 1 17e99", 7, "timestamp is not seconds since the epoch within the signed 64-bit nanosecond range"},
      {"a.b 1 99999999999", 7, "timestamp is not seconds since the epoch within the signed 64-bit nanosecond range"},
      {"a.b 1 5 more", 9, "unexpected text after the timestamp (expected \"path value timestamp\")"},
      {std::string("a\x01") + "b 1 5", 2, "control character in the path"},
      {"a\xff.b 1 5", 2, "invalid UTF-8 in the path"},
  };
  for (const Case& c : cases) {
    const ParseError e = Refused(c.line);
    EXPECT_EQ(e.column, c.column) << c.line;
    EXPECT_EQ(e.message, c.message) << c.line;
    EXPECT_FALSE(e.format_control) << c.line;
  }
  const ParseError bidi = Refused("a\xe2\x80\xae.b 1 5");  // U+202E
  EXPECT_TRUE(bidi.format_control);
  EXPECT_EQ(bidi.column, 2u);
}

TEST(GraphiteParseTest, SameLinesWhateverTheChunking) {
  const std::string stream = "a.b 1 10\nc.d\t2.5 11\r\n\nbad line here too\ne.f 3\n";
  const auto lines_of = [](const std::vector<std::string_view>& chunks) {
    LineSplitter splitter(1024);
    std::vector<std::string> out;
    for (std::string_view chunk : chunks) {
      EXPECT_TRUE(splitter.Feed(chunk, [&](std::string_view line) {
        GraphiteLine l;
        ParseError e;
        switch (ParseGraphiteLine(line, &l, &e)) {
          case ParseResult::kPoint:
            out.push_back(std::string(l.path) + "=" + std::to_string(l.value) + "@" +
                          (l.timestamp_ns ? std::to_string(*l.timestamp_ns) : "now"));
            break;
          case ParseResult::kError: out.push_back("error " + std::to_string(e.column)); break;
          case ParseResult::kSkipped: break;
        }
      }));
    }
    return out;
  };
  const std::vector<std::string> whole = lines_of({stream});
  ASSERT_EQ(whole, (std::vector<std::string>{"a.b=1.000000@10000000000", "c.d=2.500000@11000000000",
                                             "error 5", "e.f=3.000000@now"}));
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    const std::string_view s(stream);
    EXPECT_EQ(lines_of({s.substr(0, cut), s.substr(cut)}), whole) << "split at " << cut;
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i) bytes.push_back(std::string_view(stream).substr(i, 1));
  EXPECT_EQ(lines_of(bytes), whole);
}

// Measurement, sorted tags and the one field of a mapped path.
std::string Mapped(const GraphiteTemplates& t, std::string_view path) {
  ParsedLine out;
  std::string error;
  if (!t.Apply(path, 1.5, &out, &error)) return "error: " + error;
  std::string key;
  out.StreamKey(&key);
  EXPECT_EQ(out.field_count, 1u);
  EXPECT_EQ(out.fields[0].second.number, 1.5);
  return key + " " + out.fields[0].first;
}

GraphiteTemplates Compiled(const std::vector<std::string>& specs, const std::string& separator = ".") {
  auto t = GraphiteTemplates::Compile(specs, separator);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return std::move(t).value();
}

TEST(GraphiteTemplatesTest, WithoutTemplatesThePathIsTheMeasurementAndTheFieldValue) {
  EXPECT_EQ(Mapped(Compiled({}), "servers.web1.cpu"), "servers.web1.cpu value");
}

TEST(GraphiteTemplatesTest, MapsCollectdWriteGraphitePaths) {
  const GraphiteTemplates t = Compiled({
      "collectd.*.load.load.* measurement.host...field",
      "collectd.*.memory.* measurement.host..field",
  });
  EXPECT_EQ(Mapped(t, "collectd.web1.load.load.shortterm"), "collectd,host=web1 shortterm");
  EXPECT_EQ(Mapped(t, "collectd.web1.memory.memory-used"), "collectd,host=web1 memory-used");
  // No filter matches and no default template: the whole path.
  EXPECT_EQ(Mapped(t, "collectd.web1.cpu-0.cpu-idle"), "collectd.web1.cpu-0.cpu-idle value");
}

TEST(GraphiteTemplatesTest, DefaultTemplateExtraTagsAndStarParts) {
  const GraphiteTemplates t = Compiled({"host.measurement* dc=eu,rack=r1", "sensors.* measurement.host.field*"}, "_");
  EXPECT_EQ(Mapped(t, "web1.cpu.user"), "cpu_user,dc=eu,host=web1,rack=r1 value");
  EXPECT_EQ(Mapped(t, "sensors.h1.temp.inner"), "sensors,host=h1 temp_inner");
}

TEST(GraphiteTemplatesTest, RefusesBadTemplatesNamingThem) {
  const auto error = [](const std::vector<std::string>& specs) {
    auto t = GraphiteTemplates::Compile(specs, ".");
    return t.ok() ? std::string("ok") : t.status().message();
  };
  EXPECT_EQ(error({"a b c d"}), "ingest.graphite.templates[0]: expected \"[filter ]template[ tag=value,...]\", got \"a b c d\"");
  EXPECT_EQ(error({"host.field"}), "ingest.graphite.templates[0]: template \"host.field\" has no measurement part");
  EXPECT_EQ(error({"measurement", "measurement*.host"}),
            "ingest.graphite.templates[1]: template \"measurement*.host\": nothing may follow measurement* or field*");
  EXPECT_EQ(error({"measurement", "host.measurement"}),
            "ingest.graphite.templates[1]: a second template without a filter");
  EXPECT_EQ(error({"a.*x measurement.ho*st"}),
            "ingest.graphite.templates[0]: template part \"ho*st\": only measurement* and field* may end in '*'");
  EXPECT_EQ(error({"a..b measurement"}), "ingest.graphite.templates[0]: empty part in filter \"a..b\"");
  EXPECT_EQ(error({"measurement dc"}), "ingest.graphite.templates[0]: template \"dc\" has no measurement part");
  EXPECT_EQ(error({"a measurement dc"}), "ingest.graphite.templates[0]: tag \"dc\": expected name=value");
}

TEST(GraphiteTemplatesTest, TheMostSpecificFilterWinsThenTheFirst) {
  const GraphiteTemplates t = Compiled({
      "cpu.* measurement.host",
      "cpu.web1 measurement.role",
      "cpu.* measurement.node",
      "cpu.*.*.total measurement.host.field",
      "mem* measurement.host.field*",
  });
  EXPECT_EQ(Mapped(t, "cpu.web1"), "cpu,role=web1 value");     // two literal parts beat one
  EXPECT_EQ(Mapped(t, "cpu.db1"), "cpu,host=db1 value");       // a tie: the first listed
  EXPECT_EQ(Mapped(t, "cpu.db1.x.total"), "cpu,host=db1 x");   // four parts beat two
  EXPECT_EQ(Mapped(t, "memory.h1.used.bytes"), "memory,host=h1 used.bytes");  // glob; field* takes the rest
}

TEST(GraphiteTemplatesTest, RepeatedPartsJoinWithTheSeparatorAndShortPathsMapWhatTheyHave) {
  const GraphiteTemplates t = Compiled({"a.* measurement.host.measurement.field"}, "_");
  EXPECT_EQ(Mapped(t, "a.h1.b.c"), "a_b,host=h1 c");
  EXPECT_EQ(Mapped(t, "a.h1"), "a,host=h1 value");
  const GraphiteTemplates no_measurement = Compiled({"x.* host.measurement"});
  EXPECT_EQ(Mapped(no_measurement, "x"), "x value");  // the filter needs two parts: the default
  EXPECT_EQ(Mapped(Compiled({"host.measurement"}), "lonely"), "error: template leaves path \"lonely\" no measurement");
}

TEST(GraphiteGlobTest, StarsMatchAnyRun) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a*c", "abbbc"));
  EXPECT_TRUE(GlobMatch("*b*", "abc"));
  EXPECT_FALSE(GlobMatch("a*c", "abcd"));
  EXPECT_FALSE(GlobMatch("abc", "ab"));
  EXPECT_TRUE(GlobMatch("a**", "a"));
}

}  // namespace
}  // namespace lstmad::daemon
