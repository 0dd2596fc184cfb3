// The batch message of cluster mode (docs/cluster.md, "Batch messages"):
// many samples of one partition in one JetStream message, so that the
// stream's leader orders and replicates one message per batch instead of
// one per sample. The layout, mirrored here as constants:
//
//   #lstmad-batch <count> <id>\n
//   <line 1>\n ... <line count>
//
// The header is a line-protocol comment (an older consumer skips it and
// applies the lines); <count> is the number of sample lines after it and
// <id> the message's Nats-Msg-Id. The message is the unit of JetStream's
// deduplication and of the consumer's sequence: stored and applied whole or
// not at all. Pure functions; no thread affinity.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lstmad::daemon {

inline constexpr std::string_view kBatchHeader = "#lstmad-batch ";
// The subject a forwarder publishes a partition's batch to:
// <prefix>.p.<n>.batch (inside the partition's consumer filter).
inline constexpr std::string_view kBatchSubjectToken = "batch";

inline std::string BatchSubject(std::string_view prefix, int partition) {
  std::string out(prefix);
  out += ".p.";
  out += std::to_string(partition);
  out += '.';
  out += kBatchSubjectToken;
  return out;
}

inline std::string BatchHeaderLine(uint32_t count, std::string_view id) {
  std::string out(kBatchHeader);
  out += std::to_string(count);
  out += ' ';
  out += id;
  out += '\n';
  return out;
}

// The count of a message's first line when it is a batch header; nullopt
// for any other first line (a plain sample, or a batch header without a
// number: then the message's lines are applied as they are).
inline std::optional<uint64_t> BatchCount(std::string_view first_line) {
  if (!first_line.starts_with(kBatchHeader)) return std::nullopt;
  first_line.remove_prefix(kBatchHeader.size());
  uint64_t count = 0;
  const auto [end, ec] = std::from_chars(first_line.data(), first_line.data() + first_line.size(), count);
  if (ec != std::errc() || end == first_line.data()) return std::nullopt;
  return count;
}

}  // namespace lstmad::daemon
