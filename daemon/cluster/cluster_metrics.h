// Cluster mode's metrics (lstmad_cluster_*, docs/metrics.md), registered in
// the daemon's registry when cluster mode starts. Per instance: Prometheus
// scrapes each instance and rules aggregate. Handles are thread-safe.
#pragma once

#include "obs/metrics.h"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace lstmad::daemon {

struct ClusterMetrics {
  explicit ClusterMetrics(Metrics* metrics);

  prometheus::Gauge* owned_partitions;     // lstmad_cluster_owned_partitions
  prometheus::Gauge* live_instances;       // lstmad_cluster_live_instances
  prometheus::Gauge* nats_connected;       // lstmad_cluster_nats_connected
  prometheus::Counter* leases_acquired;    // lstmad_cluster_lease_changes_total{change="acquired"}
  prometheus::Counter* leases_released;    // ...{change="released"}: handed over on rebalance or stop
  prometheus::Counter* leases_lost;        // ...{change="lost"}: renewal failed or fenced by a new owner
  prometheus::Counter* samples_consumed;   // lstmad_cluster_samples_consumed_total
  prometheus::Counter* redelivered;        // lstmad_cluster_redelivered_samples_total
  prometheus::Counter* duplicates_skipped; // lstmad_cluster_duplicate_deliveries_total
  prometheus::Counter* fetch_errors;       // lstmad_cluster_fetch_errors_total
  prometheus::Counter* consumer_restarts;  // lstmad_cluster_consumer_restarts_total
  prometheus::Counter* checkpoints_ok;     // lstmad_cluster_checkpoints_total{result="ok"}
  prometheus::Counter* checkpoints_failed; // ...{result="failed"}
  prometheus::Counter* checkpoints_refused; // ...{result="refused"}: unreadable at takeover, started empty
  prometheus::Counter* checkpoints_migrated; // ...{result="migrated"}: of another stream layout, sequences reset
  prometheus::Counter* batch_mismatches;   // lstmad_cluster_batch_mismatches_total: batch header count != lines
  prometheus::Counter* nats_errors;        // lstmad_cluster_nats_errors_total (lease and KV calls)
};

}  // namespace lstmad::daemon
