#include "series_source.h"

#include <iostream>

#include "app/http_source.h"
#include "command_support.h"
#include "prometheus_source.h"

namespace lstmad::tools {

std::string CheckSeriesSource(const ArgParser& p) {
  if (p.Has("data") == p.Has("prometheus")) return "one of --data and --prometheus is required";
  return {};
}

std::string SeriesName(const ArgParser& p) {
  return p.Has("data") ? p.Get("data") : "prometheus " + p.Get("prometheus");
}

core::Result<core::CsvTable> LoadSeries(const ArgParser& p, const char* command,
                                        const std::vector<std::string>& features, core::EmptyCells fill) {
  if (!p.Has("prometheus")) return LoadCsv(p.Get("data"), features, fill);
  core::Result<PrometheusSource> source = PrometheusSourceFromFlags(p);
  if (!source.ok()) return source.status();
  const FetchFn fetch = [&](const std::string& path) {
    return daemon::HttpGetBody(source->url, path, source->authorization);
  };
  int dropped = 0;
  core::Result<core::CsvTable> table = LoadPrometheusRange(*source, fetch, &dropped);
  if (!table.ok()) return table.status();
  if (dropped > 0) {
    std::cerr << "lstmad " << command << ": warning: " << dropped
              << " step(s) where some --query had no value were left out\n";
  }
  if (features.empty()) return table;
  return SelectQueryColumns(*table, features);
}

}  // namespace lstmad::tools
