"""Issue 19, acceptance 1: the partitions spread over several JetStream
streams. 3 NATS nodes, nats.streams 3 over 6 partitions: lstmad creates
LSTMAD_0..2 with its partitions' subjects, each its own Raft group, and their
leaders are on at least two different servers (the monitoring endpoint's
/jsz says so). Then test_cluster_failover.py's scenario over that layout,
with phase 2 published as batch messages of up to 50 samples of a partition
(the partitions computed here as the servers' mapping does, so a stream whose
samples arrive both ways must stay whole): SIGKILL of the instance holding a
firing alert, partitions moved within the lease time, every sample applied
exactly once, every window the last T samples, redeliveries counted and
bounded, the alert moved with its stream."""
import json
import time

from cluster_support import stream_leaders
from nats_harness import NatsClient
import test_cluster_failover

STREAMS = 3


def check_layout(checks, nats):
    with NatsClient(nats.client_ports[0]) as client:
        subjects = {}
        for k in range(STREAMS):
            info = json.loads(client.request(f"$JS.API.STREAM.INFO.LSTMAD_{k}", b""))
            subjects[k] = sorted(info.get("config", {}).get("subjects", []))
        names = json.loads(client.request("$JS.API.STREAM.NAMES", b"")).get("streams") or []
    want = {k: sorted(f"lstmad.p.{p}.>" for p in range(k, test_cluster_failover.PARTITIONS, STREAMS))
            for k in range(STREAMS)}
    checks.check("lstmad created one stream per group of partitions, with its partitions' subjects",
                 subjects == want, str(subjects))
    checks.check("and no single stream LSTMAD", "LSTMAD" not in names, str(names))
    # A leader is elected a moment after the stream is created: bounded wait.
    leaders = {}
    deadline = time.time() + 15
    while time.time() < deadline:
        leaders = stream_leaders(nats.http_ports[0])
        if all(leaders.get(f"LSTMAD_{k}") for k in range(STREAMS)):
            break
        time.sleep(0.2)
    placed = {leaders.get(f"LSTMAD_{k}") for k in range(STREAMS)}
    checks.check("the partition streams' leaders are on at least two different servers",
                 None not in placed and len(placed) >= 2, str(leaders))
    print("stream leaders:", {k: v for k, v in sorted(leaders.items())})


if __name__ == "__main__":
    test_cluster_failover.main(streams=STREAMS, batch=50, on_ready=check_layout)
