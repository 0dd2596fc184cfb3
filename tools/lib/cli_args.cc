#include "cli_args.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "lstmad/core/suggest.h"
#include "lstmad/core/text.h"

namespace lstmad::tools {

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void ArgParser::AddOption(const std::string& name, const std::string& value_name,
                          const std::string& help, std::optional<std::string> default_value) {
  order_.push_back(name);
  options_[name] = Option{value_name, help, std::move(default_value), false};
}

void ArgParser::AddSwitch(const std::string& name, const std::string& help) {
  order_.push_back(name);
  options_[name] = Option{"", help, std::nullopt, true};
}

void ArgParser::AddRepeatable(const std::string& name, const std::string& value_name, const std::string& help) {
  order_.push_back(name);
  options_[name] = Option{value_name, help, std::nullopt, false, true};
}

void ArgParser::AddPositional(const std::string& name, const std::string& help) {
  positionals_.emplace_back(name, help);
}

bool ArgParser::Parse(const std::vector<std::string>& args, std::string* error) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      help_requested_ = true;
      return true;
    }
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      positional_values_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto it = options_.find(name);
    if (it == options_.end()) {
      const std::optional<std::string> meant = core::ClosestMatch(name, order_);
      *error = "unknown flag --" + name + (meant ? " (did you mean --" + *meant + "?)" : "") +
               " (see lstmad " + command_ + " --help)";
      return false;
    }
    if (it->second.is_switch) {
      if (inline_value) {
        *error = "--" + name + " takes no value";
        return false;
      }
      switches_set_[name] = true;
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        *error = "--" + name + " needs a value (" + it->second.value_name + ")";
        return false;
      }
      value = args[++i];
    }
    if (it->second.repeatable) all_values_[name].push_back(value);
    values_[name] = value;
  }
  if (positional_values_.size() != positionals_.size()) {
    std::ostringstream msg;
    msg << "expected " << positionals_.size() << " positional argument(s), got "
        << positional_values_.size() << " (see lstmad " << command_ << " --help)";
    *error = msg.str();
    return false;
  }
  return true;
}

bool ArgParser::Has(const std::string& name) const {
  if (values_.count(name) > 0) return true;
  auto it = options_.find(name);
  return it != options_.end() && it->second.default_value.has_value();
}

std::string ArgParser::Get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  auto it = options_.find(name);
  if (it != options_.end() && it->second.default_value) return *it->second.default_value;
  return {};
}

std::vector<std::string> ArgParser::GetAll(const std::string& name) const {
  auto it = all_values_.find(name);
  return it == all_values_.end() ? std::vector<std::string>{} : it->second;
}

std::string ArgParser::Help() const {
  std::ostringstream out;
  out << "usage: lstmad " << command_;
  for (const auto& [name, help] : positionals_) out << " " << name;
  out << " [flags]\n\n" << summary_ << "\n";
  if (!positionals_.empty()) {
    out << "\narguments:\n";
    for (const auto& [name, help] : positionals_) out << "  " << name << "\n      " << help << "\n";
  }
  out << "\nflags:\n";
  for (const std::string& name : order_) {
    const Option& o = options_.at(name);
    out << "  --" << name;
    if (!o.is_switch) out << " " << o.value_name;
    out << "\n      " << o.help;
    if (o.repeatable) out << " (repeatable)";
    if (o.default_value && !o.default_value->empty()) out << " (default: " << *o.default_value << ")";
    out << "\n";
  }
  out << "  -h, --help\n      show this help\n";
  return out.str();
}

bool ParseInt(const std::string& text, int* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

namespace {

// The rule and what broke it, for IntValue and Uint64Flag.
template <typename T>
std::string IntegerProblem(const std::string& name, const std::string& text, T min, T max, T* out) {
  const std::string rule = "--" + name + " must be an integer from " + std::to_string(min) + " to " +
                           std::to_string(max) + "; " + core::Quote(text);
  T value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ptr != text.data() + text.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return rule + " is not an integer";
  }
  // from_chars reports a value beyond T as out of range and stops at its end.
  if (ec == std::errc::result_out_of_range || value < min || value > max) return rule + " is out of range";
  *out = value;
  return "";
}

}  // namespace

std::string IntValue(const std::string& name, const std::string& text, int min, int max, int* out) {
  return IntegerProblem(name, text, min, max, out);
}

std::string IntFlag(const ArgParser& p, const std::string& name, int min, int max, int* out) {
  return IntValue(name, p.Get(name), min, max, out);
}

std::string Uint64Flag(const ArgParser& p, const std::string& name, uint64_t* out) {
  return IntegerProblem<uint64_t>(name, p.Get(name), 0, std::numeric_limits<uint64_t>::max(), out);
}

bool ParseUint64(const std::string& text, uint64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseDouble(const std::string& text, double* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(*out);
}

bool ParseDuration(const std::string& text, double* seconds) {
  std::string number = text;
  double unit = 1;
  if (!number.empty() && (number.back() == 's' || number.back() == 'm' || number.back() == 'h')) {
    unit = number.back() == 'h' ? 3600 : number.back() == 'm' ? 60 : 1;
    number.pop_back();
  }
  double v = 0;
  if (number.empty() || !ParseDouble(number, &v) || !(v >= 0) || !std::isfinite(v * unit)) return false;
  *seconds = v * unit;
  return true;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) items.push_back(item);
  return items;
}

}  // namespace lstmad::tools
