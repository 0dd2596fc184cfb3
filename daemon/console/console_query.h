// The web console's data side (docs/console.md): one row per stream with its
// newest window, the query a client sends for a list of them (sort, order,
// filters, page), and the pure functions that parse that query, filter, sort
// and page the rows, plus the text helpers the renderers share (percent
// encoding of ids, HTML escaping, a stream key's labels).
//
// Plain data and pure functions: safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scoring/stream_history.h"

namespace lstmad::daemon {

// One stream as the overview and /api/v1/streams list it.
struct StreamRow {
  std::shared_ptr<const StreamHistory> history;  // for its sparkline and page; may be null in tests
  std::string model;
  std::string key;
  HistoryLatest latest;
  // The newest error over its threshold in effect (the error itself when the
  // threshold is not positive); +inf for a non-finite error. >= 1: above.
  double score = 0;
};

// The current anomaly score of a window (StreamRow::score).
double AnomalyScore(const HistoryPoint& point);
// A row for `history`'s newest window.
StreamRow MakeRow(std::shared_ptr<const StreamHistory> history);

enum class SortKey { kScore, kError, kStream, kModel, kWindows };

struct ListQuery {
  SortKey sort = SortKey::kScore;
  bool descending = true;  // the default order of kScore, kError, kWindows; kStream and kModel ascend
  std::string model;       // only this model's streams; empty: all
  // Only streams whose key has every one of these tags (name, value).
  std::vector<std::pair<std::string, std::string>> labels;
  bool firing_only = false;
  int64_t page = 1;  // 1-based
  int per_page = 50;
};

inline constexpr int kMaxPerPage = 500;
inline constexpr int kDefaultPerPage = 50;
// More label filters than this in one query are refused.
inline constexpr size_t kMaxLabelFilters = 16;

// A query parameter's decoded value, or nullopt when absent; `all` gives every
// value of a repeated one (label=a=1&label=b=2).
struct QueryParams {
  std::function<std::optional<std::string>(std::string_view name)> get;
  std::function<std::vector<std::string>(std::string_view name)> all;
};

// The list query of `params`, or an error naming the parameter and what it
// accepts ("page: expected an integer from 1; got \"x\"").
struct ParsedQuery {
  ListQuery query;
  std::string error;  // empty: ok
};
ParsedQuery ParseListQuery(const QueryParams& params);
std::string_view SortKeyName(SortKey key);

// The rows that pass the query's filters, sorted, and the page's slice of
// them; `total` gets how many passed the filters.
std::vector<StreamRow> SelectRows(std::vector<StreamRow> rows, const ListQuery& query, size_t* total);

// A stream key's tags, in key order: "m,a=1,b=x\ y" gives {a,1},{b,x y}
// (line-protocol escapes of ',', '=' and ' ' removed). The measurement is
// everything before the first unescaped ','.
std::vector<std::pair<std::string, std::string>> KeyTags(std::string_view key);
std::string KeyMeasurement(std::string_view key);

// RFC 3986 percent-encoding of everything but unreserved characters: what
// makes a stream key safe in a path segment or query value.
std::string PercentEncode(std::string_view text);
// `text` safe in HTML text and attribute values (& < > " ' escaped; invalid
// UTF-8 replaced by U+FFFD so the page stays valid).
std::string HtmlEscape(std::string_view text);

}  // namespace lstmad::daemon
