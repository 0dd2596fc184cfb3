// A small command-line flag parser for the `lstmad` subcommands: declared
// flags only (unknown ones are errors), `--flag value` or `--flag=value`,
// boolean switches, positional arguments, and generated --help text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lstmad::tools {

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);

  // A flag taking a value; `value_name` appears in the help (e.g. "FILE").
  void AddOption(const std::string& name, const std::string& value_name, const std::string& help,
                 std::optional<std::string> default_value = std::nullopt);
  void AddSwitch(const std::string& name, const std::string& help);
  // A flag that may be given several times (`--query a=x --query b=y`); GetAll
  // returns every value in order.
  void AddRepeatable(const std::string& name, const std::string& value_name, const std::string& help);
  void AddPositional(const std::string& name, const std::string& help);

  // Returns false with `error` set on unknown flags, missing values or a
  // wrong number of positionals. `help_requested` is set for -h/--help.
  bool Parse(const std::vector<std::string>& args, std::string* error);
  bool help_requested() const { return help_requested_; }
  std::string Help() const;

  bool Has(const std::string& name) const;  // given on the command line or defaulted
  std::string Get(const std::string& name) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  bool Switch(const std::string& name) const { return switches_set_.count(name) > 0; }
  const std::vector<std::string>& positionals() const { return positional_values_; }

 private:
  struct Option {
    std::string value_name, help;
    std::optional<std::string> default_value;
    bool is_switch = false;
    bool repeatable = false;
  };
  std::string command_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Option> options_;
  std::vector<std::pair<std::string, std::string>> positionals_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;  // repeatable flags
  std::map<std::string, bool> switches_set_;
  std::vector<std::string> positional_values_;
  bool help_requested_ = false;
};

// Integer flags: the value of `--name` (or, for IntValue, `text`, an item of
// list flag `--name`) as an integer in [min, max] into `*out`. Returns the
// error message, empty when it parsed; the message gives the range and says
// whether the text is not an integer or out of range (an int's too:
// "--lookback must be an integer from 1 to 2147483647; "2147483648" is out of range").
std::string IntValue(const std::string& name, const std::string& text, int min, int max, int* out);
std::string IntFlag(const ArgParser& p, const std::string& name, int min, int max, int* out);
std::string Uint64Flag(const ArgParser& p, const std::string& name, uint64_t* out);

// Parsers for flag values; they return false on malformed text.
bool ParseInt(const std::string& text, int* out);
bool ParseDouble(const std::string& text, double* out);
// A duration >= 0 in seconds: a number, alone (seconds) or with s, m or h.
bool ParseDuration(const std::string& text, double* seconds);
bool ParseUint64(const std::string& text, uint64_t* out);
std::vector<std::string> SplitList(const std::string& text);  // "a,b" -> {a, b}

}  // namespace lstmad::tools
