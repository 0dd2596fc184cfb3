// Cluster mode's backend (cluster_backend.h) over NATS JetStream: connects,
// makes sure the stream and both buckets exist (NatsLink, cluster_nats.h),
// and puts the protocol's interfaces over them. Free of <nats/nats.h>, so
// the protocol's files do not see the C client.
//
// Start-up only; the backend it returns is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "cluster/cluster_backend.h"
#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"

namespace lstmad::daemon {

class NatsLink;

// `*link` is the backend's connection (for the TCP listener's forwarder),
// valid while the backend lives.
core::Result<std::unique_ptr<ClusterBackend>> ConnectNatsBackend(const config::NatsSettings& settings,
                                                                 const std::string& instance_id, NatsLink** link);

}  // namespace lstmad::daemon
