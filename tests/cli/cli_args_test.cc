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
  EXPECT_FALSE(ParseDouble("0.5 ", &d));
  uint64_t u = 0;
  EXPECT_TRUE(ParseUint64("18446744073709551615", &u));
  EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(ParseUint64("-1", &u));
}

TEST(CliArgsTest, SplitListKeepsEmptyItems) {
  EXPECT_EQ(SplitList("a,b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(SplitList("128,,64"), (std::vector<std::string>{"128", "", "64"}));
  EXPECT_TRUE(SplitList("").empty());
}

}  // namespace
}  // namespace lstmad::tools
