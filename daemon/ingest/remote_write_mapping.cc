#include "ingest/remote_write_mapping.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace lstmad::daemon {
namespace {

// Line protocol's escaping (line_protocol.h): the characters special in a
// measurement (`measurement`) or in a tag key, tag value or field key get a
// backslash, and so does a backslash that would otherwise escape what
// follows it or end the name; ParseLine reads the result back as `text`.
void AppendEscaped(std::string* out, std::string_view text, bool measurement) {
  const auto special = [measurement](char c) { return c == ',' || c == ' ' || (!measurement && c == '='); };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool escape =
        special(c) || (c == '\\' && (i + 1 == text.size() || text[i + 1] == '\\' || special(text[i + 1])));
    if (escape) out->push_back('\\');
    out->push_back(c);
  }
}

// Prometheus' label names; __name__ is one too.
bool IsLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string_view LabelValue(const std::vector<remote::Label>& labels, std::string_view name) {
  for (const remote::Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

bool Matches(const config::SeriesSelector& selector, const std::vector<remote::Label>& labels) {
  for (const config::LabelMatcher& m : selector.matchers) {
    if ((LabelValue(labels, m.name) == m.value) != m.equal) return false;
  }
  return true;
}

// Whether `name` is fixed by one of the selector's `=` matchers (and so the
// same for every series it selects: no part of a stream's name).
bool FixedBy(const config::SeriesSelector& selector, std::string_view name) {
  return std::any_of(selector.matchers.begin(), selector.matchers.end(),
                     [&](const config::LabelMatcher& m) { return m.equal && m.name == name; });
}

}  // namespace

std::string_view SampleDropName(SampleDrop reason) {
  switch (reason) {
    case SampleDrop::kUnselected: return "unselected";
    case SampleDrop::kNan: return "nan";
    case SampleDrop::kStale: return "stale";
    case SampleDrop::kNonFinite: return "non_finite";
    case SampleDrop::kIncomplete: return "incomplete";
    case SampleDrop::kOld: return "old";
    case SampleDrop::kDuplicate: return "duplicate";
    case SampleDrop::kTooManyStreams: return "too_many_streams";
    case SampleDrop::kBadLabels: return "bad_labels";
  }
  return "unknown";
}

core::Result<RemoteWriteMapping> RemoteWriteMapping::Build(std::vector<std::string> model_names,
                                                           std::vector<RemoteWriteModel> models) {
  RemoteWriteMapping mapping;
  for (size_t m = 0; m < models.size(); ++m) {
    const RemoteWriteModel& model = models[m];
    const std::string where = "models[" + model_names[m] + "].remote_write.features: ";
    for (size_t i = 0; i < model.selection.features.size(); ++i) {
      const auto& [name, selector] = model.selection.features[i];
      const auto it = std::find(model.features.begin(), model.features.end(), name);
      if (it == model.features.end()) {
        return core::Status::Invalid(where + "\"" + name + "\" is not a feature of model " + model_names[m]);
      }
      mapping.by_metric_[selector.metric].push_back({static_cast<uint32_t>(m),
                                                     static_cast<uint32_t>(it - model.features.begin()),
                                                     static_cast<uint32_t>(i)});
    }
    for (const std::string& feature : model.features) {
      const bool mapped = std::any_of(model.selection.features.begin(), model.selection.features.end(),
                                      [&](const auto& entry) { return entry.first == feature; });
      if (!mapped) {
        return core::Status::Invalid(where + "model " + model_names[m] + "'s feature \"" + feature +
                                     "\" has no selector");
      }
    }
  }
  mapping.models_ = std::move(models);
  return mapping;
}

bool RemoteWriteMapping::Match(const std::vector<remote::Label>& labels,
                               std::vector<SeriesTarget>* out) const {
  out->clear();
  for (const remote::Label& l : labels) {
    if (!IsLabelName(l.name)) return false;
  }
  const auto found = by_metric_.find(std::string(LabelValue(labels, "__name__")));
  if (found == by_metric_.end()) return true;
  for (const Candidate& c : found->second) {
    const RemoteWriteModel& model = models_[c.model];
    const config::SeriesSelector& selector = model.selection.features[c.selector].second;
    if (!Matches(selector, labels)) continue;
    // The stream's tags, sorted by name as ParsedLine::StreamKey sorts them.
    std::vector<const remote::Label*> tags;
    if (!model.selection.stream_labels.empty()) {
      for (const std::string& name : model.selection.stream_labels) {
        for (const remote::Label& l : labels) {
          if (l.name == name && !l.value.empty()) {
            tags.push_back(&l);
            break;
          }
        }
      }
    } else {
      for (const remote::Label& l : labels) {
        if (l.name != "__name__" && !l.value.empty() && !FixedBy(selector, l.name)) tags.push_back(&l);
      }
    }
    std::sort(tags.begin(), tags.end(),
              [](const remote::Label* a, const remote::Label* b) { return a->name < b->name; });
    tags.erase(std::unique(tags.begin(), tags.end(),
                           [](const remote::Label* a, const remote::Label* b) { return a->name == b->name; }),
               tags.end());
    SeriesTarget target;
    target.model = c.model;
    target.feature = c.feature;
    AppendEscaped(&target.stream, model.measurement, true);
    for (const remote::Label* l : tags) {
      target.stream.push_back(',');
      AppendEscaped(&target.stream, l->name, false);
      target.stream.push_back('=');
      AppendEscaped(&target.stream, l->value, false);
    }
    out->push_back(std::move(target));
  }
  return true;
}

std::string RemoteWriteMapping::FormatLine(const SeriesTarget& stream, const std::vector<double>& values,
                                           int64_t timestamp_ms, int64_t unit_ns) const {
  const RemoteWriteModel& model = models_[stream.model];
  std::string line = stream.stream;
  char number[32];
  for (size_t f = 0; f < values.size(); ++f) {
    line.push_back(f == 0 ? ' ' : ',');
    AppendEscaped(&line, model.features[f], false);
    line.push_back('=');
    // Shortest text that reads back as the same double.
    const auto result = std::to_chars(number, number + sizeof number, values[f]);
    line.append(number, result.ptr);
  }
  // ms to the listener's unit, floored (to_chars of an int64 cannot fail here).
  constexpr int64_t kNsPerMs = 1'000'000;
  int64_t stamp = 0;
  if (unit_ns <= kNsPerMs) {
    stamp = timestamp_ms * (kNsPerMs / unit_ns);
  } else {
    const int64_t per = unit_ns / kNsPerMs;
    stamp = timestamp_ms >= 0 ? timestamp_ms / per : -((-timestamp_ms + per - 1) / per);
  }
  line.push_back(' ');
  const auto result = std::to_chars(number, number + sizeof number, stamp);
  line.append(number, result.ptr);
  return line;
}

void FeatureVectorBuffer::GiveUp(Stream* stream, size_t count, Outcome* out) {
  for (size_t i = 0; i < count; ++i) {
    out->Drop(SampleDrop::kIncomplete, stream->pending[i].count);
    pending_samples_ -= stream->pending[i].count;
  }
  stream->pending.erase(stream->pending.begin(), stream->pending.begin() + static_cast<ptrdiff_t>(count));
}

void FeatureVectorBuffer::Add(const SeriesTarget& target, uint32_t features, int64_t timestamp_ms,
                              double value, int64_t now_ms, Outcome* out) {
  key_.assign(std::to_string(target.model));
  key_.push_back('\n');
  key_.append(target.stream);
  auto it = streams_.find(key_);
  if (it == streams_.end()) {
    if (streams_.size() >= limits_.max_streams) return out->Drop(SampleDrop::kTooManyStreams);
    it = streams_.emplace(key_, Stream{}).first;
    it->second.model = target.model;
  }
  Stream& s = it->second;
  s.seen_ms = now_ms;
  if (timestamp_ms <= s.last_emitted_ms) return out->Drop(SampleDrop::kOld);
  s.newest_ms = std::max(s.newest_ms, timestamp_ms);
  auto at = std::lower_bound(s.pending.begin(), s.pending.end(), timestamp_ms,
                             [](const Pending& p, int64_t t) { return p.timestamp_ms < t; });
  if (at == s.pending.end() || at->timestamp_ms != timestamp_ms) {
    Pending p;
    p.timestamp_ms = timestamp_ms;
    p.values.assign(features, 0.0);
    p.present.assign(features, false);
    at = s.pending.insert(at, std::move(p));
  }
  if (at->present[target.feature]) return out->Drop(SampleDrop::kDuplicate);
  at->present[target.feature] = true;
  at->values[target.feature] = value;
  ++at->count;
  ++pending_samples_;
  if (at->count == features) {
    // Vectors leave in time order: the older incomplete ones can no longer.
    const auto index = static_cast<size_t>(at - s.pending.begin());
    GiveUp(&s, index, out);
    Pending& done = s.pending.front();
    pending_samples_ -= done.count;
    out->accepted += done.count;
    out->ready.push_back(Ready{target.model, target.stream, done.timestamp_ms, std::move(done.values)});
    s.last_emitted_ms = done.timestamp_ms;
    s.pending.erase(s.pending.begin());
  }
  // The bounds: at most max_pending vectors, none older than max_delay.
  size_t expired = 0;
  // Saturating: a sender's timestamps near INT64_MIN must not overflow.
  const int64_t oldest_kept =
      s.newest_ms < INT64_MIN + limits_.max_delay_ms ? INT64_MIN : s.newest_ms - limits_.max_delay_ms;
  while (expired < s.pending.size() && s.pending[expired].timestamp_ms < oldest_kept) {
    ++expired;
  }
  if (s.pending.size() - expired > limits_.max_pending) expired = s.pending.size() - limits_.max_pending;
  if (expired > 0) GiveUp(&s, expired, out);
}

void FeatureVectorBuffer::Sweep(int64_t cutoff_ms, Outcome* out) {
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (it->second.seen_ms < cutoff_ms) {
      GiveUp(&it->second, it->second.pending.size(), out);
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
}

void FeatureVectorBuffer::Clear(Outcome* out) { Sweep(INT64_MAX, out); }

}  // namespace lstmad::daemon
