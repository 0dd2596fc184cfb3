// A stream's tags as Prometheus labels, so rules, Alertmanager routes and
// Grafana filters can use `site` or `pump` rather than parse the packed
// `stream` label ("pump,pump=p0001,site=north").
//
// The stream key is the line-protocol series key the ingest builds
// (measurement, then the tags sorted by key, with the protocol's backslash
// escapes). Each tag becomes one label: its name sanitised to Prometheus'
// rules ([a-zA-Z_][a-zA-Z0-9_]*: other characters become `_`, a leading
// digit gets a `_` before it), and a name that is taken (one of lstmad's own
// labels, a reserved `__` name, or an earlier tag's sanitised name) gets
// `exported_` in front until it is free, as Prometheus does with target
// labels that collide. The value is kept as sent.
//
// Pure functions: safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lstmad::daemon {

using LabelPairs = std::vector<std::pair<std::string, std::string>>;

// The tags of a series key, unescaped, in key order; the measurement is left
// out. A key without tags gives none.
LabelPairs TagsOfStreamKey(std::string_view key);

// A label name as Prometheus accepts it (see above), before collisions.
std::string SanitizeLabelName(std::string_view name);

// `fixed` (lstmad's own labels, e.g. model and stream), then one label per
// tag of `key`, collisions resolved with `exported_`.
LabelPairs StreamLabels(LabelPairs fixed, std::string_view key);

}  // namespace lstmad::daemon
