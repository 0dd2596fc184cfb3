#include "console/console_query.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "lstmad/core/text.h"

namespace lstmad::daemon {
namespace {

// Unescaped separators of a line-protocol key: ',' between tags, '=' within.
std::vector<std::string> SplitUnescaped(std::string_view text, char separator) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      parts.back() += text[++i];
    } else if (text[i] == separator) {
      parts.emplace_back();
    } else {
      parts.back() += text[i];
    }
  }
  return parts;
}

// Where `text` splits at the first unescaped `separator`; npos: nowhere.
size_t FindUnescaped(std::string_view text, char separator) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == separator) {
      return i;
    }
  }
  return std::string_view::npos;
}

std::string Unescape(std::string_view text) { return SplitUnescaped(text, '\0').front(); }

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  // Bounded: a 8 KiB query must not come back whole in every error.
  out += text.substr(0, 64);
  if (text.size() > 64) out += "...";
  return out + "\"";
}

bool ParseInt(std::string_view text, int64_t* out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Ascending comparison by `key`; the tie-breaker (model, then stream) keeps
// the order total, so pages never overlap or skip a stream.
bool Less(const StreamRow& a, const StreamRow& b, SortKey key) {
  switch (key) {
    case SortKey::kScore:
      if (a.score != b.score) return a.score < b.score;
      break;
    case SortKey::kError: {
      const double ea = std::isnan(a.latest.point.error) ? std::numeric_limits<double>::infinity()
                                                         : a.latest.point.error;
      const double eb = std::isnan(b.latest.point.error) ? std::numeric_limits<double>::infinity()
                                                         : b.latest.point.error;
      if (ea != eb) return ea < eb;
      break;
    }
    case SortKey::kWindows:
      if (a.latest.windows != b.latest.windows) return a.latest.windows < b.latest.windows;
      break;
    case SortKey::kModel:
    case SortKey::kStream:
      break;
  }
  if (key != SortKey::kStream && a.model != b.model) return a.model < b.model;
  if (a.key != b.key) return a.key < b.key;
  return a.model < b.model;
}

bool Matches(const StreamRow& row, const ListQuery& query) {
  if (!query.model.empty() && row.model != query.model) return false;
  if (query.firing_only && !row.latest.firing) return false;
  if (query.labels.empty()) return true;
  const auto tags = KeyTags(row.key);
  return std::all_of(query.labels.begin(), query.labels.end(), [&](const auto& label) {
    return std::find(tags.begin(), tags.end(), label) != tags.end();
  });
}

}  // namespace

double AnomalyScore(const HistoryPoint& point) {
  if (!std::isfinite(point.error)) return std::numeric_limits<double>::infinity();
  return point.threshold > 0 ? point.error / point.threshold : point.error;
}

StreamRow MakeRow(std::shared_ptr<const StreamHistory> history) {
  StreamRow row;
  row.model = history->model();
  row.key = history->key();
  row.latest = history->Latest();
  row.score = AnomalyScore(row.latest.point);
  row.history = std::move(history);
  return row;
}

std::string_view SortKeyName(SortKey key) {
  switch (key) {
    case SortKey::kScore: return "score";
    case SortKey::kError: return "error";
    case SortKey::kStream: return "stream";
    case SortKey::kModel: return "model";
    case SortKey::kWindows: return "windows";
  }
  return "score";
}

ParsedQuery ParseListQuery(const QueryParams& params) {
  ParsedQuery out;
  ListQuery& q = out.query;
  if (auto sort = params.get("sort")) {
    static constexpr SortKey kKeys[] = {SortKey::kScore, SortKey::kError, SortKey::kStream, SortKey::kModel,
                                        SortKey::kWindows};
    const auto* found = std::find_if(std::begin(kKeys), std::end(kKeys),
                                     [&](SortKey k) { return SortKeyName(k) == *sort; });
    if (found == std::end(kKeys)) {
      out.error = "sort: expected one of score, error, stream, model, windows; got " + Quoted(*sort);
      return out;
    }
    q.sort = *found;
  }
  q.descending = q.sort == SortKey::kScore || q.sort == SortKey::kError || q.sort == SortKey::kWindows;
  if (auto order = params.get("order")) {
    if (*order != "asc" && *order != "desc") {
      out.error = "order: expected asc or desc; got " + Quoted(*order);
      return out;
    }
    q.descending = *order == "desc";
  }
  if (auto model = params.get("model")) q.model = *model;
  if (auto firing = params.get("firing")) {
    if (*firing != "true" && *firing != "false") {
      out.error = "firing: expected true or false; got " + Quoted(*firing);
      return out;
    }
    q.firing_only = *firing == "true";
  }
  const std::vector<std::string> labels = params.all("label");
  if (labels.size() > kMaxLabelFilters) {
    out.error = "label: at most " + std::to_string(kMaxLabelFilters) + " filters";
    return out;
  }
  for (const std::string& label : labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      out.error = "label: expected name=value; got " + Quoted(label);
      return out;
    }
    q.labels.emplace_back(label.substr(0, eq), label.substr(eq + 1));
  }
  if (auto page = params.get("page")) {
    if (!ParseInt(*page, &q.page) || q.page < 1) {
      out.error = "page: expected an integer from 1; got " + Quoted(*page);
      return out;
    }
  }
  if (auto per_page = params.get("per_page")) {
    int64_t n = 0;
    if (!ParseInt(*per_page, &n) || n < 1 || n > kMaxPerPage) {
      out.error = "per_page: expected an integer from 1 to " + std::to_string(kMaxPerPage) + "; got " +
                  Quoted(*per_page);
      return out;
    }
    q.per_page = static_cast<int>(n);
  }
  return out;
}

std::vector<StreamRow> SelectRows(std::vector<StreamRow> rows, const ListQuery& query, size_t* total) {
  std::erase_if(rows, [&](const StreamRow& row) { return !Matches(row, query); });
  *total = rows.size();
  const auto compare = [&](const StreamRow& a, const StreamRow& b) {
    return query.descending ? Less(b, a, query.sort) : Less(a, b, query.sort);
  };
  // Only the rows up to the page's end need ordering.
  const auto per_page = static_cast<uint64_t>(query.per_page);
  const uint64_t first = (static_cast<uint64_t>(query.page) - 1) * per_page;
  if (query.page > static_cast<int64_t>(rows.size()) || first >= rows.size()) return {};
  const size_t end = static_cast<size_t>(std::min<uint64_t>(first + per_page, rows.size()));
  std::partial_sort(rows.begin(), rows.begin() + static_cast<ptrdiff_t>(end), rows.end(), compare);
  rows.erase(rows.begin() + static_cast<ptrdiff_t>(end), rows.end());
  rows.erase(rows.begin(), rows.begin() + static_cast<ptrdiff_t>(first));
  return rows;
}

std::vector<std::pair<std::string, std::string>> KeyTags(std::string_view key) {
  std::vector<std::pair<std::string, std::string>> tags;
  const size_t comma = FindUnescaped(key, ',');
  if (comma == std::string_view::npos) return tags;
  std::string_view rest = key.substr(comma + 1);
  while (!rest.empty()) {
    const size_t next = FindUnescaped(rest, ',');
    const std::string_view tag = rest.substr(0, next);
    const size_t eq = FindUnescaped(tag, '=');
    if (eq != std::string_view::npos) tags.emplace_back(Unescape(tag.substr(0, eq)), Unescape(tag.substr(eq + 1)));
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  return tags;
}

std::string KeyMeasurement(std::string_view key) { return Unescape(key.substr(0, FindUnescaped(key, ','))); }

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
        u == '_' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = core::Utf8SequenceLength(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    switch (text[i]) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

}  // namespace lstmad::daemon
