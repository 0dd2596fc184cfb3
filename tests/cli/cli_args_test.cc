// ArgParser and the flag value parsers: declared flags only, both value
// spellings, switches, positionals, defaults, and errors that name the flag.
#include "cli_args.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace lstmad::tools {
namespace {

ArgParser Parser() {
  ArgParser p("demo", "A demo command.");
  p.AddOption("data", "FILE", "input file");
  p.AddOption("epochs", "N", "epochs", "100");
  p.AddSwitch("last-step-error", "last step only");
  return p;
}

TEST(CliArgsTest, UnknownFlagIsAnErrorNamingIt) {
  ArgParser p = Parser();
  std::string error;
  EXPECT_FALSE(p.Parse({"--data", "x.csv", "--epoch", "3"}, &error));
  EXPECT_EQ(error, "unknown flag --epoch (did you mean --epochs?) (see lstmad demo --help)");
  ArgParser q = Parser();
  EXPECT_FALSE(q.Parse({"--frobnicate"}, &error));
  EXPECT_EQ(error, "unknown flag --frobnicate (see lstmad demo --help)");  // nothing near
}

TEST(CliArgsTest, ValuesBySpaceOrEqualsAndDefaults) {
  ArgParser p = Parser();
  std::string error;
  ASSERT_TRUE(p.Parse({"--data=a,b.csv", "--last-step-error"}, &error)) << error;
  EXPECT_EQ(p.Get("data"), "a,b.csv");
  EXPECT_EQ(p.Get("epochs"), "100");  // the default
  EXPECT_TRUE(p.Has("epochs"));
  EXPECT_TRUE(p.Switch("last-step-error"));
  ArgParser q = Parser();
  ASSERT_TRUE(q.Parse({"--epochs", "7", "--data", "--looks-like-a-flag"}, &error)) << error;
  EXPECT_EQ(q.Get("epochs"), "7");
  EXPECT_EQ(q.Get("data"), "--looks-like-a-flag");  // a value is taken as is
  EXPECT_FALSE(q.Switch("last-step-error"));
}

TEST(CliArgsTest, AbsentOptionWithoutDefaultIsNotThere) {
  ArgParser p = Parser();
  std::string error;
  ASSERT_TRUE(p.Parse({}, &error));
  EXPECT_FALSE(p.Has("data"));
  EXPECT_EQ(p.Get("data"), "");
  EXPECT_FALSE(p.Has("no-such-flag"));
}

TEST(CliArgsTest, MissingValueAndValuedSwitchAreErrors) {
  std::string error;
  ArgParser p = Parser();
  EXPECT_FALSE(p.Parse({"--data"}, &error));
  EXPECT_EQ(error, "--data needs a value (FILE)");
  ArgParser q = Parser();
  EXPECT_FALSE(q.Parse({"--last-step-error=1"}, &error));
  EXPECT_EQ(error, "--last-step-error takes no value");
}

TEST(CliArgsTest, PositionalsMustMatchInNumber) {
  ArgParser p("summary", "Show a model.");
  p.AddPositional("MODEL", "the model file");
  std::string error;
  EXPECT_FALSE(p.Parse({}, &error));
  EXPECT_EQ(error, "expected 1 positional argument(s), got 0 (see lstmad summary --help)");
  ArgParser q("summary", "Show a model.");
  q.AddPositional("MODEL", "the model file");
  ASSERT_TRUE(q.Parse({"m.lstmad"}, &error)) << error;
  EXPECT_EQ(q.positionals(), std::vector<std::string>{"m.lstmad"});
}

TEST(CliArgsTest, HelpStopsParsingAndListsEveryFlag) {
  ArgParser p = Parser();
  std::string error;
  ASSERT_TRUE(p.Parse({"--help", "--bogus"}, &error));
  EXPECT_TRUE(p.help_requested());
  EXPECT_EQ(p.Help(),
            "usage: lstmad demo [flags]\n\nA demo command.\n\nflags:\n"
            "  --data FILE\n      input file\n"
            "  --epochs N\n      epochs (default: 100)\n"
            "  --last-step-error\n      last step only\n"
            "  -h, --help\n      show this help\n");
}

TEST(CliArgsTest, NumberParsersRejectPartialAndNonFiniteText) {
  int i = 0;
  EXPECT_TRUE(ParseInt("-42", &i));
  EXPECT_EQ(i, -42);
  EXPECT_FALSE(ParseInt("42x", &i));
  EXPECT_FALSE(ParseInt("", &i));
  EXPECT_FALSE(ParseInt("99999999999", &i));
  double d = 0;
  EXPECT_TRUE(ParseDouble("1e-3", &d));
  EXPECT_EQ(d, 0.001);
  EXPECT_FALSE(ParseDouble("inf", &d));
  EXPECT_FALSE(ParseDouble("nan", &d));
  double seconds = -1;
  EXPECT_TRUE(ParseDuration("0", &seconds));
  EXPECT_EQ(seconds, 0.0);
  EXPECT_TRUE(ParseDuration("1.5", &seconds));
  EXPECT_EQ(seconds, 1.5);
  EXPECT_TRUE(ParseDuration("30s", &seconds));
  EXPECT_EQ(seconds, 30.0);
  EXPECT_TRUE(ParseDuration("5m", &seconds));
  EXPECT_EQ(seconds, 300.0);
  EXPECT_TRUE(ParseDuration("2h", &seconds));
  EXPECT_EQ(seconds, 7200.0);
  for (const char* bad : {"", "m", "-1s", "5d", "1e400h", "5 m", "nan"})
    EXPECT_FALSE(ParseDuration(bad, &seconds)) << bad;
  EXPECT_FALSE(ParseDouble("0.5 ", &d));
  uint64_t u = 0;
  EXPECT_TRUE(ParseUint64("18446744073709551615", &u));
  EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(ParseUint64("-1", &u));
}

// Issue 18: `--lookback 2147483648` said "must be a positive integer"; an
// integer flag's error now gives its range and says what is wrong.
TEST(CliArgsTest, IntegerFlagsSayWhetherOutOfRangeOrNotAnInteger) {
  ArgParser p = Parser();
  std::string error;
  int value = 7;
  const int max = std::numeric_limits<int>::max();
  const std::string rule = "--epochs must be an integer from 1 to 2147483647; ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"2147483648", rule + "\"2147483648\" is out of range"},
      {"99999999999999999999999", rule + "\"99999999999999999999999\" is out of range"},
      {"0", rule + "\"0\" is out of range"},
      {"-5", rule + "\"-5\" is out of range"},
      {"-2147483649", rule + "\"-2147483649\" is out of range"},
      {"12x", rule + "\"12x\" is not an integer"},
      {"1.5", rule + "\"1.5\" is not an integer"},
      {"", rule + "\"\" is not an integer"},
      {"+3", rule + "\"+3\" is not an integer"},
  };
  for (const auto& [text, message] : cases) {
    ASSERT_TRUE(p.Parse({"--epochs=" + text}, &error)) << error;
    EXPECT_EQ(IntFlag(p, "epochs", 1, max, &value), message) << text;
    EXPECT_EQ(value, 7) << text;  // untouched on error
  }
  ASSERT_TRUE(p.Parse({"--epochs", "2147483647"}, &error));
  EXPECT_EQ(IntFlag(p, "epochs", 1, max, &value), "");
  EXPECT_EQ(value, max);
  EXPECT_EQ(IntValue("encoder", "0", 1, 64, &value),
            "--encoder must be an integer from 1 to 64; \"0\" is out of range");
  EXPECT_EQ(IntValue("encoder", "64", 1, 64, &value), "");
  EXPECT_EQ(value, 64);
}

TEST(CliArgsTest, Uint64FlagsTakeTheWholeRange) {
  ArgParser p("demo", "A demo command.");
  p.AddOption("seed", "S", "seed", "1");
  std::string error;
  uint64_t seed = 0;
  ASSERT_TRUE(p.Parse({"--seed", "18446744073709551615"}, &error));
  EXPECT_EQ(Uint64Flag(p, "seed", &seed), "");
  EXPECT_EQ(seed, std::numeric_limits<uint64_t>::max());
  ASSERT_TRUE(p.Parse({"--seed", "18446744073709551616"}, &error));
  EXPECT_EQ(
      Uint64Flag(p, "seed", &seed),
      "--seed must be an integer from 0 to 18446744073709551615; \"18446744073709551616\" is out of range");
  ASSERT_TRUE(p.Parse({"--seed", "-1"}, &error));
  EXPECT_EQ(Uint64Flag(p, "seed", &seed),
            "--seed must be an integer from 0 to 18446744073709551615; \"-1\" is not an integer");
}

TEST(CliArgsTest, SplitListKeepsEmptyItems) {
  EXPECT_EQ(SplitList("a,b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(SplitList("128,,64"), (std::vector<std::string>{"128", "", "64"}));
  EXPECT_TRUE(SplitList("").empty());
}

}  // namespace
}  // namespace lstmad::tools
