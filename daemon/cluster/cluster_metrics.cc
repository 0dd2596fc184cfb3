#include "cluster/cluster_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace lstmad::daemon {
namespace {

prometheus::Gauge* Gauge(prometheus::Registry& r, const char* name, const char* help) {
  return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

ClusterMetrics::ClusterMetrics(Metrics* metrics) {
  prometheus::Registry& r = *metrics->registry();
  owned_partitions = Gauge(r, "lstmad_cluster_owned_partitions", "Partitions this instance owns (holds the lease of).");
  live_instances = Gauge(r, "lstmad_cluster_live_instances", "Instances with a live heartbeat, as this one sees them.");
  nats_connected = Gauge(r, "lstmad_cluster_nats_connected", "1 while the NATS connection is up, else 0.");
  auto& changes = prometheus::BuildCounter()
                      .Name("lstmad_cluster_lease_changes_total")
                      .Help("Partition leases acquired, released (handed over) and lost.")
                      .Register(r);
  leases_acquired = &changes.Add({{"change", "acquired"}});
  leases_released = &changes.Add({{"change", "released"}});
  leases_lost = &changes.Add({{"change", "lost"}});
  auto counter = [&r](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
  };
  samples_consumed = counter("lstmad_cluster_samples_consumed_total",
                             "Samples (lines; a batch message counts its lines) taken from the partitions' consumers "
                             "and applied to their streams.");
  redelivered = counter("lstmad_cluster_redelivered_samples_total",
                        "Samples applied after a takeover that the previous owner had already been sent "
                        "(their windows may have been scored twice).");
  duplicates_skipped = counter("lstmad_cluster_duplicate_deliveries_total",
                               "Deliveries of samples already applied (ack timeouts), skipped.");
  fetch_errors = counter("lstmad_cluster_fetch_errors_total", "Pull requests on a partition's consumer that failed.");
  consumer_restarts = counter("lstmad_cluster_consumer_restarts_total",
                              "Partition consumers recreated after the last applied sample because deliveries "
                              "were lost in flight.");
  auto& checkpoints = prometheus::BuildCounter()
                          .Name("lstmad_cluster_checkpoints_total")
                          .Help("Partition checkpoints (state saved, samples acknowledged), by result.")
                          .Register(r);
  checkpoints_ok = &checkpoints.Add({{"result", "ok"}});
  checkpoints_failed = &checkpoints.Add({{"result", "failed"}});
  checkpoints_refused = &checkpoints.Add({{"result", "refused"}});
  checkpoints_migrated = &checkpoints.Add({{"result", "migrated"}});
  batch_mismatches = counter("lstmad_cluster_batch_mismatches_total",
                             "Batch messages whose header's sample count differs from the lines they carry "
                             "(their lines are applied; the publisher is at fault).");
  nats_errors = counter("lstmad_cluster_nats_errors_total", "Lease, heartbeat and consumer calls to NATS that failed.");
}

}  // namespace lstmad::daemon
