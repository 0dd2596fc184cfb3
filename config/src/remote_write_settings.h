// The `remote_write:` section and models[i].remote_write of lstmad.yaml
// (the Prometheus remote_write receiver), and the series selector syntax.
// Private to lstmad::config; pure functions.
#pragma once

#include <string>
#include <string_view>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "yaml_reader.h"

namespace lstmad::config::detail {

// `metric{label="value",label!="value"}` (PromQL's instant selector without
// regular expressions: their matching cost is up to the sender's label
// values). False, with `*error` saying what and where, when malformed.
bool ParseSeriesSelector(std::string_view text, SeriesSelector* out, std::string* error);

core::Status ParseModelRemoteWrite(const Reader& r, const Field& f, ModelRemoteWrite* out);
core::Status ParseRemoteWrite(const Reader& r, const Field& f, RemoteWriteSettings* out);

}  // namespace lstmad::config::detail
