"""Issue 9: checkpoints written by earlier lstmad (head version 1: inline,
no layout byte) still load. One instance checkpoints two partitions and
stops; the test rewrites both heads in the version 1 layout (encoded here,
independently of lstmad); a new instance takes them over without refusing
either, keeps every stream's lookback (one new sample per stream scores one
window per stream) and rewrites the heads as version 2."""
import os
import struct
import time

from cluster_support import (cluster_config, crc32c, decode_head, owned, publish_rounds, wait_checkpoints,
                             wait_quiet, wait_scored)
from daemon_harness import Daemon, total, train_pump_model
from lstmad_cli import Checks, tempdir
from nats_harness import NatsClient, NatsCluster

LOOKBACK = 5
STREAMS = 100
PARTITIONS = 2
SAMPLES = 8
BUCKET = "LSTMAD_state"


def version1(head):
    """The version 1 layout of an inline head."""
    owner = head["owner"].encode()
    out = b"LSTMADCP" + struct.pack("<IQQI", 1, head["sequence"], head["delivered"], len(owner)) + owner
    return out + struct.pack("<I", crc32c(out)) + head["body"]


def wait_owned(instance, want, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline and owned([instance]) != [want]:
        time.sleep(0.05)
    return owned([instance])


def main():
    checks = Checks()
    with tempdir() as d, NatsCluster(PARTITIONS) as nats:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=2, samples=600, encoder="8,4", decoder="4,8")
        first = Daemon(cluster_config(os.path.join(d, "lstmad-0.yaml"), model, nats, "i0", PARTITIONS))
        second = None
        try:
            checks.check("the first instance owns both partitions", wait_owned(first, PARTITIONS) == [PARTITIONS])
            with NatsClient(nats.client_ports[0]) as client:
                publish_rounds(client, STREAMS, 0, SAMPLES)
            wait_scored([first], STREAMS * (SAMPLES - LOOKBACK + 1))
            streams = wait_checkpoints(nats.client_ports[0], PARTITIONS, SAMPLES, STREAMS)
            checks.check("its checkpoints hold every sample", len(streams) == STREAMS and
                         all(s["samples"] == SAMPLES for s in streams.values()), str(len(streams)))
            first.stop()
            with NatsClient(nats.client_ports[0]) as client:
                for p in range(PARTITIONS):
                    head = decode_head(client.kv_get(BUCKET, f"snap.{p}"))
                    checks.check(f"snap.{p} is an inline version 2 head", head["version"] == 2 and not head["chunked"])
                    client.kv_put(BUCKET, f"snap.{p}", version1(head))
                    checks.check(f"snap.{p} now reads as version 1",
                                 decode_head(client.kv_get(BUCKET, f"snap.{p}"))["version"] == 1)

            second = Daemon(cluster_config(os.path.join(d, "lstmad-1.yaml"), model, nats, "i1", PARTITIONS))
            checks.check("a new instance takes both partitions over", wait_owned(second, PARTITIONS) == [PARTITIONS])
            acquired = []
            deadline = time.time() + 10
            while time.time() < deadline and len(acquired) < PARTITIONS:
                acquired = [x for x in second.logs() if "partition acquired" in x]
                time.sleep(0.05)
            restored = sum(int(x.split("streams=", 1)[1].split()[0]) for x in acquired)
            checks.check("restoring every stream from the version 1 heads", restored == STREAMS,
                         "\n".join(acquired))
            refused = total(second.metrics(), "lstmad_cluster_checkpoints_total", result="refused")
            checks.check("refusing none", refused == 0, str(refused))
            before = total(second.metrics(), "lstmad_windows_scored_total")
            with NatsClient(nats.client_ports[1]) as client:
                publish_rounds(client, STREAMS, SAMPLES, 1)
            after = wait_quiet([second])
            checks.check("one new sample per stream scores one window per stream (lookback kept)",
                         after - before == STREAMS, f"{after - before}")
            streams = wait_checkpoints(nats.client_ports[0], PARTITIONS, SAMPLES + 1, STREAMS)
            checks.check("every stream's checkpoint has every sample once", len(streams) == STREAMS and
                         all(s["samples"] == SAMPLES + 1 for s in streams.values()), str(len(streams)))
            with NatsClient(nats.client_ports[0]) as client:
                heads = [decode_head(client.kv_get(BUCKET, f"snap.{p}")) for p in range(PARTITIONS)]
            checks.check("the heads are version 2 again, the new owner's",
                         all(h["version"] == 2 and h["owner"] == "i1" for h in heads),
                         str([(h["version"], h["owner"]) for h in heads]))
        finally:
            first.stop()
            if second is not None:
                second.stop()
    checks.finish()


if __name__ == "__main__":
    main()
