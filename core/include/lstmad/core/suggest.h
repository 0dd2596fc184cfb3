// "Did you mean ...?" for a name a person mistyped: a flag, a subcommand, a
// configuration key, a measurement.
//
// Pure functions of their arguments: safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lstmad::core {

// Edits (insert, delete, substitute one character, or swap two adjacent
// ones) that turn `a` into `b`, compared case-insensitively in ASCII: the
// optimal string alignment distance, so "trian" is one edit from "train".
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `word` when it is near enough to be what was
// meant: at most one edit for words up to 4 characters, two up to 8, three
// beyond (so a short word is not "corrected" into an unrelated one). Ties go
// to the earlier candidate; nullopt when none is near or `word` is itself a
// candidate.
std::optional<std::string> ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace lstmad::core
