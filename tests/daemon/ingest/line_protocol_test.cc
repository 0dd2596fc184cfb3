// The InfluxDB line protocol parser and the line splitter, on raw bytes: the
// examples of the official references (InfluxDB v2 "Line protocol", v1 "Line
// protocol reference" and its older editions), every field type and every
// error with its column, stream keys, chunking at every byte boundary, the
// line limit, steady-state reuse of storage, and random mutations.
#include "ingest/line_protocol.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lstmad::daemon {
namespace {

using namespace std::string_literals;

std::string FormatNumber(double v) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, result.ptr);
}

// A point as one string: "measurement|tag=value|...|field=K:value|...|timestamp",
// K the kind (F float, I integer, U unsigned, S string, B boolean).
std::string Describe(const ParsedLine& p) {
  std::string out = p.measurement;
  for (size_t i = 0; i < p.tag_count; ++i) out += "|" + p.tags[i].first + "=" + p.tags[i].second;
  for (size_t i = 0; i < p.field_count; ++i) {
    const FieldValue& v = p.fields[i].second;
    out += "|" + p.fields[i].first + "=";
    switch (v.kind) {
      case FieldValue::Kind::kFloat: out += "F:" + FormatNumber(v.number); break;
      case FieldValue::Kind::kInteger: out += "I:" + FormatNumber(v.number); break;
      case FieldValue::Kind::kUnsigned: out += "U:" + FormatNumber(v.number); break;
      case FieldValue::Kind::kString: out += "S:" + v.text; break;
      case FieldValue::Kind::kBoolean: out += "B:" + FormatNumber(v.number); break;
    }
  }
  if (p.timestamp) out += "|" + std::to_string(*p.timestamp);
  return out;
}

// Parses `line` with fresh storage; a point is described, anything else is
// "skipped" or "error COLUMN: MESSAGE".
std::string Parse(std::string_view line) {
  ParsedLine p;
  ParseError e;
  switch (ParseLine(line, &p, &e)) {
    case ParseResult::kPoint: return Describe(p);
    case ParseResult::kSkipped: return "skipped";
    case ParseResult::kError: return "error " + std::to_string(e.column) + ": " + e.message;
  }
  return "?";
}

// The stream key of a line that must parse as a point.
std::string KeyOf(std::string_view line) {
  ParsedLine p;
  ParseError e;
  EXPECT_EQ(ParseLine(line, &p, &e), ParseResult::kPoint) << line << ": " << e.message;
  std::string key = "stale";
  p.StreamKey(&key);
  return key;
}

struct Example {
  std::string line;
  std::string expect;  // as Parse() returns it
};

void ExpectAll(const std::vector<Example>& examples) {
  for (const Example& x : examples) EXPECT_EQ(Parse(x.line), x.expect) << "line: " << x.line;
}

// ---------------------------------------------------------------------------
// The reference examples.

TEST(LineProtocolTest, ParsesTheV2ReferenceExamples) {
  ExpectAll({
      // Syntax and elements.
      {R"lp(myMeasurement,tag1=value1,tag2=value2 fieldKey="fieldValue" 1556813561098000000)lp",
       "myMeasurement|tag1=value1|tag2=value2|fieldKey=S:fieldValue|1556813561098000000"},
      {R"lp(myMeasurement,tag1=val1,tag2=val2 field1="v1",field2=1i 0000000000000000000)lp",
       "myMeasurement|tag1=val1|tag2=val2|field1=S:v1|field2=I:1|0"},
      {R"lp(measurementName fieldKey="field string value" 1556813561098000000)lp",
       "measurementName|fieldKey=S:field string value|1556813561098000000"},
      // Float, integer, unsigned, string, boolean and timestamp examples.
      {"myMeasurement fieldKey=1.0", "myMeasurement|fieldKey=F:1"},
      {"myMeasurement fieldKey=1", "myMeasurement|fieldKey=F:1"},
      {"myMeasurement fieldKey=-1.234456e+78", "myMeasurement|fieldKey=F:-1.234456e+78"},
      {"myMeasurement fieldKey=1i", "myMeasurement|fieldKey=I:1"},
      {"myMeasurement fieldKey=12485903i", "myMeasurement|fieldKey=I:12485903"},
      {"myMeasurement fieldKey=-12485903i", "myMeasurement|fieldKey=I:-12485903"},
      {"myMeasurement fieldKey=1u", "myMeasurement|fieldKey=U:1"},
      {"myMeasurement fieldKey=12485903u", "myMeasurement|fieldKey=U:12485903"},
      {R"lp(myMeasurement fieldKey="this is a string")lp", "myMeasurement|fieldKey=S:this is a string"},
      {"myMeasurement fieldKey=true", "myMeasurement|fieldKey=B:1"},
      {"myMeasurement fieldKey=false", "myMeasurement|fieldKey=B:0"},
      {"myMeasurement fieldKey=t", "myMeasurement|fieldKey=B:1"},
      {"myMeasurement fieldKey=f", "myMeasurement|fieldKey=B:0"},
      {"myMeasurement fieldKey=TRUE", "myMeasurement|fieldKey=B:1"},
      {"myMeasurement fieldKey=FALSE", "myMeasurement|fieldKey=B:0"},
      {R"lp(myMeasurementName fieldKey="fieldValue" 1556813561098000000)lp",
       "myMeasurementName|fieldKey=S:fieldValue|1556813561098000000"},
      // The limits of the integer, unsigned and timestamp tables.
      {"m f=-9223372036854775808i", "m|f=I:-9223372036854775808"},
      // FieldValue::number is a double: the extremes round to 2^63 and 2^64.
      {"m f=9223372036854775807i", "m|f=I:9223372036854775808"},
      {"m f=0u", "m|f=U:0"},
      {"m f=18446744073709551615u", "m|f=U:18446744073709551616"},
      {"m f=1 -9223372036854775806", "m|f=F:1|-9223372036854775806"},
      {"m f=1 9223372036854775806", "m|f=F:1|9223372036854775806"},
      // Special characters.
      {R"lp(my\ Measurement fieldKey="string value")lp", "my Measurement|fieldKey=S:string value"},
      {R"lp(myMeasurement fieldKey="\"string\" within a string")lp",
       R"lp(myMeasurement|fieldKey=S:"string" within a string)lp"},
      {R"lp(myMeasurement,tag\ Key1=tag\ Value1,tag\ Key2=tag\ Value2 fieldKey=100)lp",
       "myMeasurement|tag Key1=tag Value1|tag Key2=tag Value2|fieldKey=F:100"},
      {R"lp(myMeasurement,tagKey=🍭 fieldKey="Launch 🚀" 1556813561098000000)lp",
       "myMeasurement|tagKey=🍭|fieldKey=S:Launch 🚀|1556813561098000000"},
      // Comments.
      {"# This is a comment", "skipped"},
      {R"lp(myMeasurement fieldKey="string value" 1556813561098000000)lp",
       "myMeasurement|fieldKey=S:string value|1556813561098000000"},
  });
}

// "With two contiguous backslashes, the first is interpreted as an escape
// character", in every element: the v2 reference's table.
TEST(LineProtocolTest, ReadsBackslashesAsTheV2ReferenceTable) {
  const std::vector<std::pair<int, int>> table = {{1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {6, 3}};
  for (const auto& [written, read] : table) {
    const std::string w(static_cast<size_t>(written), '\\');
    const std::string r(static_cast<size_t>(read), '\\');
    EXPECT_EQ(Parse("a" + w + "b,t" + w + "k=v" + w + "x f" + w + "k=\"s" + w + "s\""),
              "a" + r + "b|t" + r + "k=v" + r + "x|f" + r + "k=S:s" + r + "s")
        << written << " backslashes";
  }
}

TEST(LineProtocolTest, ParsesTheV1ReferenceExamples) {
  ExpectAll({
      {"mymeas value=-1.234456e+78", "mymeas|value=F:-1.234456e+78"},
      {"mymeas value=1.0", "mymeas|value=F:1"},
      {"mymeas value=1", "mymeas|value=F:1"},
      {"mymeas value=1i", "mymeas|value=I:1"},
      {"mymeas value=1.e+78", "mymeas|value=F:1e+78"},
      {"mymeas value=1.E+78", "mymeas|value=F:1e+78"},
      {R"lp(mymeas value="stringing along")lp", "mymeas|value=S:stringing along"},
      {"mymeas value=true", "mymeas|value=B:1"},
      {R"lp(mymeas value="true")lp", "mymeas|value=S:true"},
      {"mymeas value=3 1465934559000000000", "mymeas|value=F:3|1465934559000000000"},
      {R"lp(mymeas value="stringing along" 1465934559000000001)lp",
       "mymeas|value=S:stringing along|1465934559000000001"},
      {R"lp(mymeas value=9 "1466625759000000000")lp",
       R"lp(error 16: invalid timestamp "\"1466625759000000000\"")lp"},
      {R"lp("mymeas" value=200)lp", R"lp("mymeas"|value=F:200)lp"},
      {"weather,location=us-midwest temperature=82 1465839830100400200",
       "weather|location=us-midwest|temperature=F:82|1465839830100400200"},
      {R"lp("measurement\ with\ quo⚡️es\ and\ emoji",tag\ key\ with\ sp🚀ces=tag\,value\,with"commas" field_k\ey="string field value, only \" need be esc🍭ped")lp",
       R"lp("measurement with quo⚡️es and emoji"|tag key with sp🚀ces=tag,value,with"commas"|field_k\ey=S:string field value, only " need be esc🍭ped)lp"},
      // The older editions' examples.
      {R"lp(total\ disk\ free,volumes=/net\,/home\,/ value=442221834240i 1435362189575692182)lp",
       "total disk free|volumes=/net,/home,/|value=I:442221834240|1435362189575692182"},
      {R"lp(disk_free,a\=b=y\=z value=442221834240i)lp", "disk_free|a=b=y=z|value=I:442221834240"},
      {R"lp(disk_free,path=C:\Windows value=442221834240i)lp",
       R"lp(disk_free|path=C:\Windows|value=I:442221834240)lp"},
      {R"lp(disk_free value=442221834240i,working\ directories="C:\My Documents\Stuff for examples,C:\My Documents")lp",
       R"lp(disk_free|value=I:442221834240|working directories=S:C:\My Documents\Stuff for examples,C:\My Documents)lp"},
      // Every escaping and quoting rule at once. The field key is `field_key\\`
      // under the v2 backslash rule (the v1 server kept all four backslashes).
      {R"lp("measurement\ with\ quotes",tag\ key\ with\ spaces=tag\,value\,with"commas" field_key\\\\="string field value, only \" need be escaped")lp",
       R"lp("measurement with quotes"|tag key with spaces=tag,value,with"commas"|field_key\\=S:string field value, only " need be escaped)lp"},
      {R"lp(cpu,host=server\ 01,region=uswest value=1.0,msg="all systems nominal")lp",
       "cpu|host=server 01|region=uswest|value=F:1|msg=S:all systems nominal"},
  });
}

// Cases from the Go reference decoder's tests (github.com/influxdata/line-protocol).
TEST(LineProtocolTest, ParsesTheGoDecoderCases) {
  ExpectAll({
      {R"lp( somename,tag1=val1,tag2=val2  floatfield=1,strfield="hello",intfield=-1i,uintfield=1u,boolfield=true  1602841605822791506)lp",
       "somename|tag1=val1|tag2=val2|floatfield=F:1|strfield=S:hello|intfield=I:-1|uintfield=U:1|"
       "boolfield=B:1|1602841605822791506"},
      {R"lp( m1,tag1=val1  x="first"  1602841605822791506)lp", "m1|tag1=val1|x=S:first|1602841605822791506"},
      {R"lp(comma\,1,equals\==e\,x,two=val2 field\=x="fir\",st\\"  1602841605822791506)lp",
       R"lp(comma,1|equals==e,x|two=val2|field=x=S:fir",st\|1602841605822791506)lp"},
      {"b f=1", "b|f=F:1"},
      {"9 f=-7 ", "9|f=F:-7"},
      {"m x=1\r", "m|x=F:1"},
      {R"lp(m s="\t\r\n\v")lp", R"lp(m|s=S:\t\r\n\v)lp"},
      {R"lp(m,s=\t\r\n\v x=1)lp", R"lp(m|s=\t\r\n\v|x=F:1)lp"},
      {R"lp(TestBucket FieldOné=Happy,FieldTwo=sad)lp",
       R"lp(error 22: invalid field value "Happy" (string values must be double-quoted))lp"},
      {"TestBuckét, FieldOne=Happy", "error 13: empty tag key"},
      {R"lp(TestBuckét TagOné="Happy" FieldOne=123.45)lp",
       R"lp(error 29: invalid timestamp "FieldOne=123.45")lp"},
      {"mmmé é=1e9999999999999", R"lp(error 10: float value "1e9999999999999" out of range)lp"},
      {"m f=1,\x01=1,\x01=2", R"lp(error 7: invalid character "\x01" in field key)lp"},
      {"m foo\x01=bar x=1", R"lp(error 6: invalid character "\x01" in field key)lp"},
      {"m,foo\x03=bar x=1", R"lp(error 6: invalid character "\x03" in tag key)lp"},
      {"m,foo=bar\x02 x=1", R"lp(error 10: invalid character "\x02" in tag value)lp"},
  });
}

// The examples of docs/wire-protocol.md.
TEST(LineProtocolTest, ParsesTheWireProtocolDocExamples) {
  ExpectAll({
      {"pump,pump=p1 temperature=hot",
       R"lp(error 26: invalid field value "hot" (string values must be double-quoted))lp"},
      {"pump,pump=p1", "error 13: missing field set"},
      {"pump,pump=p1,pump=p2 flow=1", R"lp(error 14: duplicate tag key "pump")lp"},
      {"pump,site= flow=1", R"lp(error 11: empty value for tag "site")lp"},
      {"pump flow=NaN", R"lp(error 11: invalid field value "NaN" (string values must be double-quoted))lp"},
      {"pump flow=1.5i", R"lp(error 11: invalid integer value "1.5i")lp"},
      {"pump flow=1 1700000000.5", R"lp(error 13: invalid timestamp "1700000000.5")lp"},
      {R"lp(pump flow="ok)lp", R"lp(error 11: unterminated string value for field "flow")lp"},
      {R"lp(m,path=C:\Windows dir="C:\temp\n")lp", R"lp(m|path=C:\Windows|dir=S:C:\temp\n)lp"},
      {R"lp(m,dir=C:\\ f=1)lp", R"lp(m|dir=C:\|f=F:1)lp"},
  });
  EXPECT_EQ(KeyOf("pump,site=north,pump=p0001 temperature=61.2,pressure=3.05,vibration=0.42,flow=118.7,"
                  "status=\"ok\" 1700000000000000000"),
            "pump,pump=p0001,site=north");
}

// ---------------------------------------------------------------------------
// Field types.

TEST(LineProtocolTest, ParsesEveryFieldType) {
  ParsedLine p;
  ParseError e;
  ASSERT_EQ(ParseLine(R"lp(m a=1.5,b=-2i,c=3u,d="x y",e=T)lp", &p, &e), ParseResult::kPoint);
  ASSERT_EQ(p.field_count, 5u);
  const FieldValue::Kind kinds[] = {FieldValue::Kind::kFloat, FieldValue::Kind::kInteger,
                                    FieldValue::Kind::kUnsigned, FieldValue::Kind::kString,
                                    FieldValue::Kind::kBoolean};
  const double numbers[] = {1.5, -2, 3, 0, 1};
  const bool numeric[] = {true, true, true, false, false};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(p.fields[i].second.kind, kinds[i]) << i;
    EXPECT_EQ(p.fields[i].second.number, numbers[i]) << i;
    EXPECT_EQ(p.fields[i].second.is_numeric(), numeric[i]) << i;
  }
  EXPECT_EQ(p.fields[3].second.text, "x y");
  EXPECT_EQ(p.fields[0].second.text, "");
}

TEST(LineProtocolTest, ParsesEveryBooleanSpelling) {
  for (const char* t : {"t", "T", "true", "True", "TRUE"}) EXPECT_EQ(Parse("m b="s + t), "m|b=B:1") << t;
  for (const char* f : {"f", "F", "false", "False", "FALSE"}) EXPECT_EQ(Parse("m b="s + f), "m|b=B:0") << f;
  for (const char* bad : {"tRUE", "TRue", "tru", "truee", "yes", "on", "1b", "t1", "fals"}) {
    EXPECT_NE(Parse("m b="s + bad).rfind("error 5: ", 0), std::string::npos) << bad;
  }
}

TEST(LineProtocolTest, ParsesFloatSyntaxes) {
  ExpectAll({
      {"m f=0", "m|f=F:0"},
      {"m f=-0", "m|f=F:-0"},
      {"m f=007", "m|f=F:7"},
      {"m f=1.", "m|f=F:1"},
      {"m f=.5", "m|f=F:0.5"},
      {"m f=-.5", "m|f=F:-0.5"},
      {"m f=1e3", "m|f=F:1000"},
      {"m f=1E+3", "m|f=F:1000"},
      {"m f=1e-3", "m|f=F:0.001"},
      {"m f=-1.5e10", "m|f=F:-1.5e+10"},
      {"m f=1.7976931348623157e308", "m|f=F:1.7976931348623157e+308"},
      {"m f=4.9e-324", "m|f=F:5e-324"},
      // Underflow reads as zero, as strtod and Go's ParseFloat do.
      {"m f=1e-400", "m|f=F:0"},
      {"m f=-0.0000001e-320", "m|f=F:-0"},
      {"m f=1e-99999999999999999999", "m|f=F:0"},
  });
}

// ---------------------------------------------------------------------------
// Whitespace, comments and line ends.

TEST(LineProtocolTest, SkipsBlankAndCommentLines) {
  for (const std::string& line : {""s, " "s, "\t \t"s, "\r"s, " \r"s, "#"s, "# comment"s, "   # indented"s,
                                  "#m f=1"s, "\t#x"s, "# \x00\xff"s}) {
    ParsedLine p;
    ParseError e;
    p.tag_count = 3;  // stale values from an earlier line must not survive
    p.field_count = 2;
    EXPECT_EQ(ParseLine(line, &p, &e), ParseResult::kSkipped) << line;
    EXPECT_EQ(p.tag_count, 0u);
    EXPECT_EQ(p.field_count, 0u);
  }
}

TEST(LineProtocolTest, ToleratesRunsOfSpacesAndTrailingWhitespace) {
  ExpectAll({
      {"m f=1 123\r", "m|f=F:1|123"},
      {"m f=1\r", "m|f=F:1"},
      {"m   f=1    123   ", "m|f=F:1|123"},
      {"m,t=a  f=1", "m|t=a|f=F:1"},
      {"  m f=1", "m|f=F:1"},
      {"\tm f=1", "m|f=F:1"},
      {"m f=1 123 \t\r", "m|f=F:1|123"},
      {"m f=\"trailing  \"  ", "m|f=S:trailing  "},
      // Only spaces separate sections: a tab is part of the token it follows.
      {"m f=1\t123", R"lp(error 5: invalid float value "1\t123")lp"},
  });
}

TEST(LineProtocolTest, ParsesTimestamps) {
  ExpectAll({
      {"m f=1 0", "m|f=F:1|0"},
      {"m f=1 -1", "m|f=F:1|-1"},
      {"m f=1 -9223372036854775808", "m|f=F:1|-9223372036854775808"},
      {"m f=1 9223372036854775807", "m|f=F:1|9223372036854775807"},
      {"m f=1 00042", "m|f=F:1|42"},
  });
  ParsedLine p;
  ParseError e;
  ASSERT_EQ(ParseLine("m f=1 5", &p, &e), ParseResult::kPoint);
  EXPECT_EQ(p.timestamp, 5);
  ASSERT_EQ(ParseLine("m f=1", &p, &e), ParseResult::kPoint);
  EXPECT_FALSE(p.timestamp.has_value());
}

// ---------------------------------------------------------------------------
// Errors: every class, with its column.

TEST(LineProtocolTest, ReportsMeasurementErrors) {
  ExpectAll({
      {",t=a f=1", "error 1: missing measurement"},
      {"  ,t=a f=1", "error 3: missing measurement"},
      {"m\x01 f=1", R"lp(error 2: invalid character "\x01" in measurement)lp"},
      {"m\tx f=1", R"lp(error 2: invalid character "\t" in measurement)lp"},
      {"m\x7f f=1", R"lp(error 2: invalid character "\x7F" in measurement)lp"},
      {"m\0 f=1"s, R"lp(error 2: invalid character "\x00" in measurement)lp"},
      {"m\xff f=1", "error 2: invalid UTF-8 in measurement"},
      {"ab\xc3 f=1", "error 3: invalid UTF-8 in measurement"},
      {"m\xc0\xaf f=1", "error 2: invalid UTF-8 in measurement"},          // overlong '/'
      {"m\xed\xa0\x80 f=1", "error 2: invalid UTF-8 in measurement"},      // a surrogate
      {"m\xf4\x90\x80\x80 f=1", "error 2: invalid UTF-8 in measurement"},  // past U+10FFFF
  });
}

TEST(LineProtocolTest, ReportsTagErrors) {
  ExpectAll({
      {"m,=a f=1", "error 3: empty tag key"},
      {"m, f=1", "error 3: empty tag key"},
      {"m,t=a, f=1", "error 7: empty tag key"},
      {"m,t f=1", R"lp(error 4: missing '=' after tag key "t")lp"},
      {"m,t,u=1 f=1", R"lp(error 4: missing '=' after tag key "t")lp"},
      {R"lp(m,"t f=1)lp", R"lp(error 5: missing '=' after tag key "\"t")lp"},
      {"m,t= f=1", R"lp(error 5: empty value for tag "t")lp"},
      {"m,t=,u=1 f=1", R"lp(error 5: empty value for tag "t")lp"},
      {"m,t=a=b f=1", R"lp(error 6: unescaped '=' in the value of tag "t")lp"},
      {"m,t\0=a f=1"s, R"lp(error 4: invalid character "\x00" in tag key)lp"},
      {"m,t=\xfe f=1", "error 5: invalid UTF-8 in tag value"},
      {"m,b=1,a=2,b=3 f=1", R"lp(error 11: duplicate tag key "b")lp"},
      {"m,a=1,a=1 f=1", R"lp(error 7: duplicate tag key "a")lp"},
      {R"lp(m\,x,a=1,a=2 f=1)lp", R"lp(error 10: duplicate tag key "a")lp"},
      {R"lp(m,a\ b=1,a\ b=2 f=1)lp", R"lp(error 10: duplicate tag key "a b")lp"},
  });
}

// U+202E (RIGHT-TO-LEFT OVERRIDE) and its kind reach metric labels, logs,
// events and Alertmanager through stream keys: every refused code point is
// refused in every name, at its column, with format_control set; its
// neighbours and ordinary non-ASCII text are accepted.
TEST(LineProtocolTest, RefusesUnicodeFormatControlsInNames) {
  ParsedLine point;
  ParseError error;
  ASSERT_EQ(ParseLine("m,t=ab\u202Ecd f=1", &point, &error), ParseResult::kError);  // UTF-8 E2 80 AE
  EXPECT_EQ(error.column, 7u);
  EXPECT_EQ(error.message, "Unicode format control U+202E in tag value");
  EXPECT_TRUE(error.format_control);
  ASSERT_EQ(ParseLine("m,\xe2\x81\xa6k=v f=1", &point, &error), ParseResult::kError);
  EXPECT_EQ(error.message, "Unicode format control U+2066 in tag key");
  ASSERT_EQ(ParseLine("\xef\xbb\xbfm f=1", &point, &error), ParseResult::kError);
  EXPECT_EQ(error.message, "Unicode format control U+FEFF in measurement");
  EXPECT_EQ(error.column, 1u);
  ASSERT_EQ(ParseLine("m f\xe2\x80\x8b=1", &point, &error), ParseResult::kError);
  EXPECT_EQ(error.message, "Unicode format control U+200B in field key");
  ASSERT_EQ(ParseLine("m,t=\xf3\xa0\x80\x81 f=1", &point, &error), ParseResult::kError);
  EXPECT_EQ(error.message, "Unicode format control U+E0001 in tag value");
  ASSERT_EQ(ParseLine("m,t=\xc2\x85 f=1", &point, &error), ParseResult::kError);
  EXPECT_EQ(error.message, "Unicode format control U+0085 in tag value");
  // A later syntax error is not a format control.
  ASSERT_EQ(ParseLine("m,t= f=1", &point, &error), ParseResult::kError);
  EXPECT_FALSE(error.format_control);
  // Accepted: Latin, CJK, an emoji, U+00A0, U+200A (a space, not a control), U+2030 and U+FFFC.
  ASSERT_EQ(
      ParseLine("m,t=\xc3\xa9\xe6\xb0\xb4\xf0\x9f\x92\xa7\xc2\xa0\xe2\x80\x8a\xe2\x80\xb0\xef\xbf\xbc f=1",
                &point, &error),
      ParseResult::kPoint)
      << error.message;
  // The whole refused set, and the code points either side of each range.
  const std::vector<std::pair<uint32_t, uint32_t>> refused = {
      {0x80, 0x9f},     {0x61c, 0x61c},   {0x200b, 0x200f}, {0x2028, 0x202e},
      {0x2060, 0x206f}, {0xfeff, 0xfeff}, {0xfff9, 0xfffb}, {0xe0000, 0xe007f}};
  for (const auto& [first, last] : refused) {
    for (uint32_t cp = first; cp <= last; ++cp) EXPECT_TRUE(IsFormatControl(cp)) << std::hex << cp;
    EXPECT_FALSE(IsFormatControl(first - 1)) << std::hex << first - 1;
    EXPECT_FALSE(IsFormatControl(last + 1)) << std::hex << last + 1;
  }
}

TEST(LineProtocolTest, ReportsFieldSetErrors) {
  ExpectAll({
      {"m", "error 2: missing field set"},
      {"m   ", "error 2: missing field set"},
      {"m,t=a", "error 6: missing field set"},
      {"m,t=a ", "error 6: missing field set"},
      {"m =1", "error 3: empty field key"},
      {"m f=1,=2", "error 7: empty field key"},
      {"m f=1, g=2", "error 7: empty field key"},
      {"m f=1,", "error 7: missing field after ','"},
      {"m f", R"lp(error 4: missing '=' after field key "f")lp"},
      {"m f,g=1", R"lp(error 4: missing '=' after field key "f")lp"},
      {"m f=", R"lp(error 5: missing value for field "f")lp"},
      {"m f=,g=1", R"lp(error 5: missing value for field "f")lp"},
      {"m f= 1", R"lp(error 5: missing value for field "f")lp"},
      {"m f\xff=1", "error 4: invalid UTF-8 in field key"},
  });
}

TEST(LineProtocolTest, ReportsFieldValueErrors) {
  ExpectAll({
      {"m f=abc", R"lp(error 5: invalid field value "abc" (string values must be double-quoted))lp"},
      {"m f=+1", R"lp(error 5: invalid field value "+1" (string values must be double-quoted))lp"},
      {"m f=tru", R"lp(error 5: invalid boolean value "tru")lp"},
      {"m f=1.2.3", R"lp(error 5: invalid float value "1.2.3")lp"},
      {"m f=1e", R"lp(error 5: invalid float value "1e")lp"},
      {"m f=1e+", R"lp(error 5: invalid float value "1e+")lp"},
      {"m f=-", R"lp(error 5: invalid float value "-")lp"},
      {"m f=.", R"lp(error 5: invalid float value ".")lp"},
      {"m f=--1", R"lp(error 5: invalid float value "--1")lp"},
      {"m f=0x10", R"lp(error 5: invalid float value "0x10")lp"},
      {"m f=1_000", R"lp(error 5: invalid float value "1_000")lp"},
      {"m f=1e309", R"lp(error 5: float value "1e309" out of range)lp"},
      {"m f=-1e309", R"lp(error 5: float value "-1e309" out of range)lp"},
      {"m f=1.5i", R"lp(error 5: invalid integer value "1.5i")lp"},
      {"m f=-i", R"lp(error 5: invalid integer value "-i")lp"},
      {"m f=1ii", R"lp(error 5: invalid integer value "1ii")lp"},
      {"m f=9223372036854775808i",
       R"lp(error 5: integer value "9223372036854775808i" out of range (signed 64-bit))lp"},
      {"m f=-9223372036854775809i",
       R"lp(error 5: integer value "-9223372036854775809i" out of range (signed 64-bit))lp"},
      {"m f=-1u", R"lp(error 5: invalid unsigned value "-1u")lp"},
      {"m f=1.0u", R"lp(error 5: invalid unsigned value "1.0u")lp"},
      {"m f=18446744073709551616u",
       R"lp(error 5: unsigned value "18446744073709551616u" out of range (unsigned 64-bit))lp"},
      {R"lp(m f="abc)lp", R"lp(error 5: unterminated string value for field "f")lp"},
      {R"lp(m f="abc\")lp", R"lp(error 5: unterminated string value for field "f")lp"},
      {R"lp(m f="a"b)lp", R"lp(error 8: unexpected character after the value of field "f")lp"},
      {"m f=\"\xff\"", "error 6: invalid UTF-8 in string value"},
      {"  m f=abc", R"lp(error 7: invalid field value "abc" (string values must be double-quoted))lp"},
  });
}

// The reference rejects NaN and infinities ("IEEE-754 64-bit floating-point
// numbers (except NaN or +/- Inf)"), in any spelling.
TEST(LineProtocolTest, RejectsNanAndInfinity) {
  for (const char* v : {"nan", "NaN", "NAN", "inf", "Inf", "INF", "infinity", "Infinity"}) {
    EXPECT_EQ(Parse("m f="s + v),
              "error 5: invalid field value \""s + v + "\" (string values must be double-quoted)");
  }
  for (const char* v : {"-nan", "-NaN", "-inf", "-Inf", "-Infinity", "+inf"}) {
    EXPECT_NE(Parse("m f="s + v).rfind("error 5: ", 0), std::string::npos) << v;
  }
}

TEST(LineProtocolTest, ReportsTimestampErrors) {
  ExpectAll({
      {"m f=1 12a", R"lp(error 7: invalid timestamp "12a")lp"},
      {"m f=1 1.5", R"lp(error 7: invalid timestamp "1.5")lp"},
      {"m f=1 -", R"lp(error 7: invalid timestamp "-")lp"},
      {"m f=1 +5", R"lp(error 7: invalid timestamp "+5")lp"},
      {"m f=1 g=2", R"lp(error 7: invalid timestamp "g=2")lp"},
      {"m f=1 9223372036854775808",
       R"lp(error 7: timestamp "9223372036854775808" out of range (signed 64-bit))lp"},
      {"m f=1 -9223372036854775809",
       R"lp(error 7: timestamp "-9223372036854775809" out of range (signed 64-bit))lp"},
      {"m f=1 1 2", "error 9: unexpected text after the timestamp"},
      {"m f=1 1   x", "error 11: unexpected text after the timestamp"},
  });
}

TEST(LineProtocolTest, QuotesClientInputPrintablyAndBounded) {
  // core::Quote: cut at 64 bytes with ... after the closing quote; \t \n \r
  // spelled so, other control bytes and invalid UTF-8 as \xNN (upper case).
  EXPECT_EQ(Parse("m f=" + std::string(100, 'a')), "error 5: invalid field value \"" + std::string(64, 'a') +
                                                       "\"... (string values must be double-quoted)");
  EXPECT_EQ(Parse("m f=a\"\\\xff\x01é"),
            R"lp(error 5: invalid field value "a\"\\\xFF\x01é" (string values must be double-quoted))lp");
  EXPECT_EQ(Parse("m f=\xc2\x85x"),  // U+0085, a C1 control terminals act on
            R"lp(error 5: invalid field value "\xC2\x85x" (string values must be double-quoted))lp");
}

TEST(LineProtocolTest, ErrorsLeaveNoStaleTagsOrFields) {
  ParsedLine p;
  ParseError e;
  ASSERT_EQ(ParseLine("m,a=1,b=2 x=1,y=2 7", &p, &e), ParseResult::kPoint);
  EXPECT_EQ(ParseLine("m,a=1,b=2 x=1,y=oops 7", &p, &e), ParseResult::kError);
  EXPECT_EQ(p.tag_count, 0u);
  EXPECT_EQ(p.field_count, 0u);
  EXPECT_FALSE(p.timestamp.has_value());
  EXPECT_EQ(p.FindField("x"), nullptr);
}

// ---------------------------------------------------------------------------
// Stream keys and field lookup.

TEST(LineProtocolTest, StreamKeyIsMeasurementAndSortedTags) {
  EXPECT_EQ(KeyOf("cpu,host=a,region=eu f=1"), "cpu,host=a,region=eu");
  EXPECT_EQ(KeyOf("cpu,region=eu,host=a f=2 123"), "cpu,host=a,region=eu");
  EXPECT_EQ(KeyOf("cpu,z=1,y=2,x=3,w=4 f=1"), "cpu,w=4,x=3,y=2,z=1");
  EXPECT_EQ(KeyOf("cpu f=1"), "cpu");
  // Sorted bytewise, as Go's bytes.Compare: upper case, '_', lower case, then UTF-8.
  EXPECT_EQ(KeyOf("m,é=1,b=2,_=3,B=4,a=5 f=1"), "m,B=4,_=3,a=5,b=2,é=1");
}

TEST(LineProtocolTest, StreamKeyIsTheSameForEveryTagOrder) {
  std::vector<std::string> tags = {"host=a", "region=eu", "rack=r1", "zone=z\\ 9", "dc=x"};
  std::sort(tags.begin(), tags.end());
  std::string first;
  int orders = 0;
  do {
    std::string line = "cpu";
    for (const auto& t : tags) line += "," + t;
    const std::string key = KeyOf(line + " f=1");
    if (orders++ == 0) first = key;
    EXPECT_EQ(key, first) << line;
  } while (std::next_permutation(tags.begin(), tags.end()));
  EXPECT_EQ(orders, 120);
  EXPECT_EQ(first, R"lp(cpu,dc=x,host=a,rack=r1,region=eu,zone=z\ 9)lp");
}

TEST(LineProtocolTest, StreamKeyEscapesLikeTheProtocolAndReadsBack) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"lp(my\ m,tag\ k=v\,1,e\=q=x\=y f=1)lp", R"lp(my\ m,e\=q=x\=y,tag\ k=v\,1)lp"},
      {R"lp(a=b,t=1 f=1)lp", R"lp(a=b,t=1)lp"},                // '=' is plain in a measurement
      {R"lp(m,p=C:\Windows f=1)lp", R"lp(m,p=C:\Windows)lp"},  // a lone backslash stays lone
      {R"lp(m,t=x\\ f=1)lp", R"lp(m,t=x\\)lp"},                // ... but not at the end
      {R"lp(m\\\,,t=\\\= f=1)lp", R"lp(m\\\,,t=\\\=)lp"},      // nor before a special
      {R"lp(m,t=a\\\\b f=1)lp", R"lp(m,t=a\\\b)lp"},           // a\\b: the first is doubled
  };
  for (const auto& [line, key] : cases) {
    EXPECT_EQ(KeyOf(line), key) << line;
    ParsedLine original, reread;
    ParseError e;
    ASSERT_EQ(ParseLine(line, &original, &e), ParseResult::kPoint);
    ASSERT_EQ(ParseLine(key + " f=1", &reread, &e), ParseResult::kPoint) << key << ": " << e.message;
    EXPECT_EQ(Describe(reread), Describe(original)) << key;
  }
}

TEST(LineProtocolTest, StreamKeyAndFindFieldSeeOnlyTheCurrentLine) {
  ParsedLine p;
  ParseError e;
  std::string key;
  ASSERT_EQ(ParseLine("m,a=1,b=2,c=3 x=1,y=2,z=3", &p, &e), ParseResult::kPoint);
  ASSERT_EQ(ParseLine("n,b=9 y=5", &p, &e), ParseResult::kPoint);
  p.StreamKey(&key);
  EXPECT_EQ(key, "n,b=9");
  EXPECT_EQ(p.FindField("x"), nullptr);
  EXPECT_EQ(p.FindField("z"), nullptr);
  ASSERT_NE(p.FindField("y"), nullptr);
  EXPECT_EQ(p.FindField("y")->number, 5);
  EXPECT_GE(p.tags.size(), 3u);  // storage kept for reuse
  EXPECT_GE(p.fields.size(), 3u);
}

TEST(LineProtocolTest, FindFieldReturnsTheLastOfDuplicateKeys) {
  ParsedLine p;
  ParseError e;
  ASSERT_EQ(ParseLine(R"lp(m f=1,g="s",f=2i,h=true)lp", &p, &e), ParseResult::kPoint);
  EXPECT_EQ(p.field_count, 4u);
  ASSERT_NE(p.FindField("f"), nullptr);
  EXPECT_EQ(p.FindField("f")->kind, FieldValue::Kind::kInteger);
  EXPECT_EQ(p.FindField("f")->number, 2);
  EXPECT_EQ(p.FindField("g")->text, "s");
  EXPECT_EQ(p.FindField("h")->number, 1);
  EXPECT_EQ(p.FindField("F"), nullptr);
  EXPECT_EQ(p.FindField(""), nullptr);
}

TEST(LineProtocolTest, SortsManyTagsAndFindsTheirDuplicates) {
  std::string line = "m";
  for (int i = 299; i >= 0; --i) line += ",k" + std::to_string(1000 + i) + "=v" + std::to_string(i);
  ParsedLine p;
  ParseError e;
  ASSERT_EQ(ParseLine(line + " f=1", &p, &e), ParseResult::kPoint) << e.message;
  ASSERT_EQ(p.tag_count, 300u);
  for (size_t i = 0; i < 300; ++i) {
    EXPECT_EQ(p.tags[i].first, "k" + std::to_string(1000 + i));
    EXPECT_EQ(p.tags[i].second, "v" + std::to_string(i));
  }
  const size_t column = line.size() + 2;  // of the repeated key below
  EXPECT_EQ(Parse(line + ",k1150=again f=1"),
            "error " + std::to_string(column) + ": duplicate tag key \"k1150\"");
}

// The parser reads only the bytes of its string_view.
TEST(LineProtocolTest, ReadsNothingPastTheEndOfTheView) {
  const std::string buffer = "m f=12i 345\\,x";
  EXPECT_EQ(Parse(std::string_view(buffer).substr(0, 6)), "m|f=F:12");
  EXPECT_EQ(Parse(std::string_view(buffer).substr(0, 9)), "m|f=I:12|3");
  const std::string tagged = "m,t=a\\ b f=1";
  EXPECT_EQ(Parse(std::string_view(tagged).substr(0, 6)), "error 7: missing field set");
  const std::string quoted = "m f=\"a\\\"";
  EXPECT_EQ(Parse(std::string_view(quoted).substr(0, 7)),
            R"lp(error 5: unterminated string value for field "f")lp");
}

// ---------------------------------------------------------------------------
// Steady state: once a line has been parsed, parsing it again reuses every
// buffer (same capacities, same addresses), so it cannot have allocated.

using Storage = std::vector<std::pair<const void*, size_t>>;

Storage StorageOf(const ParsedLine& p, const ParseError& e, const std::string& key) {
  Storage s = {{p.tags.data(), p.tags.capacity()},
               {p.fields.data(), p.fields.capacity()},
               {nullptr, p.tags.size()},
               {nullptr, p.fields.size()},
               {p.measurement.data(), p.measurement.capacity()},
               {e.message.data(), e.message.capacity()},
               {key.data(), key.capacity()}};
  for (const auto& [k, v] : p.tags) {
    s.emplace_back(k.data(), k.capacity());
    s.emplace_back(v.data(), v.capacity());
  }
  for (const auto& [k, v] : p.fields) {
    s.emplace_back(k.data(), k.capacity());
    s.emplace_back(v.text.data(), v.text.capacity());
  }
  return s;
}

TEST(LineProtocolTest, ParsingTheSameLineAgainReusesItsStorage) {
  // Unsorted tags of different lengths, long names and a long string value.
  const std::string line =
      "a_rather_long_measurement_name_for_the_heap,zone=a-zone-value-longer-than-sso,"
      "host=server-0001.example.com,rack=r1,aa=x temperature=21.5,label=\"a string value well past the "
      "small-string buffer\",count=42i,"
      "ok=true,big=18446744073709551615u 1556813561098000000";
  ParsedLine p;
  ParseError e;
  std::string key;
  ASSERT_EQ(ParseLine(line, &p, &e), ParseResult::kPoint);
  p.StreamKey(&key);
  const std::string described = Describe(p);
  const Storage first = StorageOf(p, e, key);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(ParseLine(line, &p, &e), ParseResult::kPoint);
    p.StreamKey(&key);
    ASSERT_EQ(StorageOf(p, e, key), first) << "parse " << i + 2;
  }
  EXPECT_EQ(Describe(p), described);
}

TEST(LineProtocolTest, RepeatingAMixOfLinesReusesItsStorage) {
  const std::vector<std::string> lines = {
      "cpu,host=a,region=eu usage=0.5,idle=99.5 1",
      "mem,region=us-west-with-a-long-name,host=b used=123456789i,free=\"lots and lots of free memory\"",
      "# a comment",
      "cpu,z=1,y=2,x=3,w=4,v=5,u=6,t=7,s=8,r=9,q=10,p=11,o=12,n=13,m=14,l=15,k=16,j=17 f=1",
      "bad,host=a value=not-a-number",
      "",
      "disk,b=1,a=2,b=3 f=1",
      "net bytes=1u,up=true,name=\"eth0\",rate=1e3 42",
  };
  ParsedLine p;
  ParseError e;
  std::string key;
  const auto pass = [&] {
    for (const std::string& line : lines) {
      if (ParseLine(line, &p, &e) == ParseResult::kPoint) p.StreamKey(&key);
    }
  };
  pass();
  const Storage first = StorageOf(p, e, key);
  for (int i = 0; i < 200; ++i) {
    pass();
    ASSERT_EQ(StorageOf(p, e, key), first) << "pass " << i + 2;
  }
}

// ---------------------------------------------------------------------------
// Random mutations: no crash, no read out of bounds (run under ASan/UBSan in
// the asan-ubsan preset), and every result keeps the parser's promises.

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || s.size() - i < len) return false;
    uint32_t cp = len == 1 ? c : (c & (0x7Fu >> len));
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return false;
    i += len;
  }
  return true;
}

bool IsCleanName(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return !s.empty() && IsValidUtf8(s);
}

void CheckPromises(std::string_view line, ParseResult result, const ParsedLine& p, const ParseError& e) {
  SCOPED_TRACE(::testing::Message() << "line: " << ::testing::PrintToString(std::string(line)));
  if (result == ParseResult::kError) {
    EXPECT_GE(e.column, 1u);
    EXPECT_LE(e.column, line.size() + 1);
    EXPECT_FALSE(e.message.empty());
    EXPECT_EQ(p.tag_count + p.field_count, 0u);
    return;
  }
  if (result == ParseResult::kSkipped) {
    const size_t first = line.find_first_not_of(" \t\r");
    EXPECT_TRUE(first == std::string_view::npos || line[first] == '#');
    return;
  }
  ASSERT_LE(p.tag_count, p.tags.size());
  ASSERT_LE(p.field_count, p.fields.size());
  ASSERT_GE(p.field_count, 1u);
  EXPECT_TRUE(IsCleanName(p.measurement));
  for (size_t i = 0; i < p.tag_count; ++i) {
    EXPECT_TRUE(IsCleanName(p.tags[i].first));
    EXPECT_TRUE(IsCleanName(p.tags[i].second));
    if (i > 0) {
      EXPECT_LT(p.tags[i - 1].first, p.tags[i].first);
    }
  }
  for (size_t i = 0; i < p.field_count; ++i) {
    const FieldValue& v = p.fields[i].second;
    EXPECT_TRUE(IsCleanName(p.fields[i].first));
    if (v.is_numeric()) {
      EXPECT_TRUE(std::isfinite(v.number));
    }
    if (v.kind == FieldValue::Kind::kString) {
      EXPECT_TRUE(IsValidUtf8(v.text));
    }
  }
  // The stream key reads back as the same measurement and tags.
  std::string key;
  p.StreamKey(&key);
  ParsedLine again;
  ParseError again_error;
  ASSERT_EQ(ParseLine(key + " f=1", &again, &again_error), ParseResult::kPoint) << key;
  EXPECT_EQ(again.measurement, p.measurement);
  ASSERT_EQ(again.tag_count, p.tag_count);
  for (size_t i = 0; i < p.tag_count; ++i) EXPECT_EQ(again.tags[i], p.tags[i]);
}

std::string Mutate(std::string line, std::mt19937& rng) {
  static constexpr char kBytes[] = "\\\",= =#\t\r\0\xff\xc3\xa9\x80ietfu.-+e0123456789";
  static const std::string kInteresting(kBytes, sizeof kBytes - 1);
  const int edits = std::uniform_int_distribution<int>(1, 4)(rng);
  for (int k = 0; k < edits; ++k) {
    const size_t at = line.empty() ? 0 : std::uniform_int_distribution<size_t>(0, line.size() - 1)(rng);
    const char c = std::uniform_int_distribution<int>(0, 3)(rng) == 0
                       ? static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng))
                       : kInteresting[std::uniform_int_distribution<size_t>(0, kInteresting.size() - 1)(rng)];
    switch (std::uniform_int_distribution<int>(0, 4)(rng)) {
      case 0:
        if (!line.empty()) line[at] = c;
        break;
      case 1: line.insert(line.begin() + static_cast<std::ptrdiff_t>(std::min(at, line.size())), c); break;
      case 2:
        if (!line.empty()) line.erase(at, 1);
        break;
      case 3: line.resize(std::min(line.size(), at)); break;
      case 4: line += line.substr(at, std::uniform_int_distribution<size_t>(0, 12)(rng)); break;
    }
  }
  return line;
}

TEST(LineProtocolTest, SurvivesRandomlyMutatedLines) {
  const std::vector<std::string> seeds = {
      R"lp(myMeasurement,tag1=value1,tag2=value2 fieldKey="fieldValue" 1556813561098000000)lp",
      R"lp("measurement\ with\ quotes",tag\ key\ with\ spaces=tag\,value\,with"commas" field_key\\\\="string field value, only \" need be escaped")lp",
      R"lp(cpu,host=server\ 01,region=uswest value=1.0,msg="all systems nominal",n=-3i,u=7u,b=T -42)lp",
      R"lp(m,z=1,a=2,é=3 f=1e-3,g=.5,h=FALSE,s="a\\b\"c" 0)lp",
      "# comment line",
      "  m,t=C:\\Windows\\  f=1  2  \r",
  };
  std::mt19937 rng(20240611);
  ParsedLine p;  // reused throughout, as the daemon does
  ParseError e;
  int points = 0, errors = 0;
  for (int i = 0; i < 60000; ++i) {
    const std::string line = Mutate(seeds[static_cast<size_t>(i) % seeds.size()], rng);
    const ParseResult r = ParseLine(line, &p, &e);
    points += r == ParseResult::kPoint;
    errors += r == ParseResult::kError;
    CheckPromises(line, r, p, e);
    if (HasFailure()) return;
  }
  // Arbitrary bytes, of every length up to 64.
  for (int i = 0; i < 20000; ++i) {
    std::string line(std::uniform_int_distribution<size_t>(0, 64)(rng), '\0');
    for (char& c : line) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    CheckPromises(line, ParseLine(line, &p, &e), p, e);
    if (HasFailure()) return;
  }
  // The mutations must exercise both outcomes.
  EXPECT_GT(points, 5000);
  EXPECT_GT(errors, 5000);
}

// ---------------------------------------------------------------------------
// LineSplitter.

struct Fed {
  std::vector<std::string> lines;
  bool ok = true;
};

Fed FeedChunks(LineSplitter* splitter, const std::vector<std::string_view>& chunks) {
  Fed fed;
  for (std::string_view chunk : chunks) {
    fed.ok = splitter->Feed(chunk, [&](std::string_view line) { fed.lines.emplace_back(line); });
    if (!fed.ok) break;
  }
  return fed;
}

// Lines and their ends as they come from real senders: LF and CRLF, empty
// lines, a comment, escapes, multi-byte UTF-8, and a last line still open.
const std::string kPayload =
    "cpu,host=a value=1 1\n\nmem used=2i\r\n# comment\n  \nweird\\ name,t=\xc3\xa9 s=\"x,y\" 3\n"
    "m f=1\n\n\nthe last line, still open";
const std::vector<std::string> kPayloadLines = {"cpu,host=a value=1 1",
                                                "",
                                                "mem used=2i\r",
                                                "# comment",
                                                "  ",
                                                "weird\\ name,t=\xc3\xa9 s=\"x,y\" 3",
                                                "m f=1",
                                                "",
                                                ""};
const size_t kOpenBytes = std::string_view("the last line, still open").size();

TEST(LineSplitterTest, SplitsAWholePayload) {
  LineSplitter splitter(1024);
  const Fed fed = FeedChunks(&splitter, {kPayload});
  EXPECT_TRUE(fed.ok);
  EXPECT_EQ(fed.lines, kPayloadLines);
  EXPECT_EQ(splitter.buffered(), kOpenBytes);
}

TEST(LineSplitterTest, GivesTheSameLinesWhereverThePayloadIsSplit) {
  const std::string_view all(kPayload);
  for (size_t k = 0; k <= all.size(); ++k) {
    LineSplitter splitter(1024);
    const Fed fed = FeedChunks(&splitter, {all.substr(0, k), all.substr(k)});
    EXPECT_TRUE(fed.ok);
    EXPECT_EQ(fed.lines, kPayloadLines) << "split at " << k;
    EXPECT_EQ(splitter.buffered(), kOpenBytes);
  }
}

// Pausing after any line and feeding the rest again gives the same lines,
// wherever the payload was split.
TEST(LineSplitterTest, PausingAfterEveryLineGivesTheSameLines) {
  const std::string_view all(kPayload);
  for (size_t k = 0; k <= all.size(); ++k) {
    LineSplitter splitter(1024);
    std::vector<std::string> lines;
    for (std::string_view chunk : {all.substr(0, k), all.substr(k)}) {
      std::string_view rest = chunk;
      do {
        // Pause after each line: the rest comes back to be fed again.
        ASSERT_TRUE(splitter.FeedPausable(
            rest,
            [&](std::string_view line) {
              lines.emplace_back(line);
              return false;
            },
            &rest));
      } while (!rest.empty());
    }
    EXPECT_EQ(lines, kPayloadLines) << "split at " << k;
    EXPECT_EQ(splitter.buffered(), kOpenBytes);
  }
}

TEST(LineSplitterTest, PausingLeavesTheBytesAfterTheLine) {
  LineSplitter splitter(1024);
  std::string_view rest;
  int calls = 0;
  ASSERT_TRUE(splitter.FeedPausable("a 1\nb 2\nc", [&](std::string_view) { return ++calls < 1; }, &rest));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(rest, "b 2\nc");
  ASSERT_TRUE(splitter.FeedPausable(rest, [&](std::string_view) { return true; }, &rest));
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(splitter.buffered(), 1u);  // "c" waits for its newline
}

TEST(LineSplitterTest, GivesTheSameLinesForEveryThreeWaySplit) {
  const std::string_view all(kPayload);
  for (size_t i = 0; i <= all.size(); ++i) {
    for (size_t j = i; j <= all.size(); ++j) {
      LineSplitter splitter(1024);
      const Fed fed = FeedChunks(&splitter, {all.substr(0, i), all.substr(i, j - i), all.substr(j)});
      ASSERT_TRUE(fed.ok);
      ASSERT_EQ(fed.lines, kPayloadLines) << "split at " << i << " and " << j;
    }
  }
}

TEST(LineSplitterTest, GivesTheSameLinesByteByByte) {
  LineSplitter splitter(1024);
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < kPayload.size(); ++i) bytes.push_back(std::string_view(kPayload).substr(i, 1));
  const Fed fed = FeedChunks(&splitter, bytes);
  EXPECT_TRUE(fed.ok);
  EXPECT_EQ(fed.lines, kPayloadLines);
  EXPECT_EQ(splitter.buffered(), kOpenBytes);
}

TEST(LineSplitterTest, EmptyChunksChangeNothing) {
  LineSplitter splitter(16);
  const Fed fed = FeedChunks(&splitter, {"", "a", "", "b\n", "", "\n", ""});
  EXPECT_TRUE(fed.ok);
  EXPECT_EQ(fed.lines, (std::vector<std::string>{"ab", ""}));
  EXPECT_EQ(splitter.buffered(), 0u);
}

TEST(LineSplitterTest, AcceptsLinesOfExactlyTheLimitAtEverySplit) {
  constexpr size_t kMax = 16;
  const std::string line(kMax, 'x');
  const std::string payload = line + "\n" + line + "\n" + line;  // the last one still open
  for (size_t k = 0; k <= payload.size(); ++k) {
    LineSplitter splitter(kMax);
    const Fed fed =
        FeedChunks(&splitter, {std::string_view(payload).substr(0, k), std::string_view(payload).substr(k)});
    EXPECT_TRUE(fed.ok) << "split at " << k;
    EXPECT_EQ(fed.lines, (std::vector<std::string>{line, line})) << "split at " << k;
    EXPECT_EQ(splitter.buffered(), kMax);
  }
}

TEST(LineSplitterTest, RejectsALineOneByteOverTheLimitAtEverySplit) {
  constexpr size_t kMax = 16;
  const std::string payload = "ok\n" + std::string(kMax + 1, 'x') + "\nnever\n";
  for (size_t k = 0; k <= payload.size(); ++k) {
    LineSplitter splitter(kMax);
    const Fed fed =
        FeedChunks(&splitter, {std::string_view(payload).substr(0, k), std::string_view(payload).substr(k)});
    EXPECT_FALSE(fed.ok) << "split at " << k;
    EXPECT_EQ(fed.lines, (std::vector<std::string>{"ok"})) << "split at " << k;
  }
}

TEST(LineSplitterTest, RejectsAnOverlongLineBeforeItsNewlineArrives) {
  constexpr size_t kMax = 16;
  LineSplitter splitter(kMax);
  for (size_t i = 0; i < kMax; ++i) ASSERT_TRUE(splitter.Feed("x", [](std::string_view) {})) << i;
  EXPECT_EQ(splitter.buffered(), kMax);
  EXPECT_FALSE(splitter.Feed("x", [](std::string_view) {}));
  LineSplitter at_once(kMax);
  EXPECT_FALSE(at_once.Feed(std::string(kMax + 1, 'x'), [](std::string_view) {}));
}

// The limit counts every byte before the '\n', so the '\r' of a CRLF too.
TEST(LineSplitterTest, CountsTheCarriageReturnOfACrLf) {
  constexpr size_t kMax = 16;
  LineSplitter fits(kMax);
  EXPECT_TRUE(FeedChunks(&fits, {std::string(kMax - 1, 'x') + "\r\n"}).ok);
  LineSplitter over(kMax);
  EXPECT_FALSE(FeedChunks(&over, {std::string(kMax, 'x') + "\r\n"}).ok);
}

TEST(LineSplitterTest, TheLimitIsPerLine) {
  constexpr size_t kMax = 8;
  std::string payload;
  for (int i = 0; i < 100; ++i) payload += std::string(kMax, static_cast<char>('a' + i % 26)) + "\n";
  LineSplitter splitter(kMax);
  const Fed fed = FeedChunks(&splitter, {payload});
  EXPECT_TRUE(fed.ok);
  EXPECT_EQ(fed.lines.size(), 100u);
}

// Random chunking of random bytes: the lines are always the '\n'-separated
// pieces, and every one of them parses without harm.
TEST(LineSplitterTest, RandomChunksOfRandomBytes) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string payload(std::uniform_int_distribution<size_t>(0, 400)(rng), '\0');
    for (char& c : payload) {
      c = std::uniform_int_distribution<int>(0, 9)(rng) == 0
              ? '\n'
              : static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    }
    std::vector<std::string> expect;
    size_t start = 0;
    for (size_t nl; (nl = payload.find('\n', start)) != std::string::npos; start = nl + 1) {
      expect.push_back(payload.substr(start, nl - start));
    }
    std::vector<std::string_view> chunks;
    for (size_t at = 0; at < payload.size();) {
      const size_t n = std::uniform_int_distribution<size_t>(1, 40)(rng);
      chunks.push_back(std::string_view(payload).substr(at, n));
      at += n;
    }
    LineSplitter splitter(payload.size());
    const Fed fed = FeedChunks(&splitter, chunks);
    ASSERT_TRUE(fed.ok);
    ASSERT_EQ(fed.lines, expect) << "round " << round;
    EXPECT_EQ(splitter.buffered(), payload.size() - start);
    ParsedLine p;
    ParseError e;
    for (const std::string& line : fed.lines) CheckPromises(line, ParseLine(line, &p, &e), p, e);
  }
}

}  // namespace
}  // namespace lstmad::daemon
