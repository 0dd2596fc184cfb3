"""Issue 9: checkpoints written by earlier lstmad (head version 1: inline,
no layout byte) still load. One instance checkpoints two partitions and
stops; the test rewrites both heads in the version 1 layout (encoded here,
independently of lstmad); a new instance takes them over without refusing
either, keeps every stream's lookback (one new sample per stream scores one
window per stream) and rewrites the heads in the current version (3).

Issue 19: then the deployment grows to nats.streams 2 as docs/cluster.md
("Changing nats.streams") says. With the old stream LSTMAD still there the
new layout is refused at start (exit 2, naming the migration); once it is
deleted, a new instance takes the version-1 deployment's checkpoints over:
each counted as migrated, every stream's lookback kept (one new sample per
stream scores one window per stream), every sample applied once, and the
heads name the partitions' new streams LSTMAD_0 and LSTMAD_1."""
import json
import os
import struct
import subprocess
import time

from lstmad_cli import BIN
from cluster_support import (cluster_config, crc32c, decode_head, owned, publish_rounds, wait_checkpoints,
                             wait_scored, wait_settled)
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


def wait_owned(instance, want, timeout=40):
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
            wait_scored([first], STREAMS * (SAMPLES - LOOKBACK + 1), nats=nats)
            streams = wait_checkpoints(nats.client_ports[0], PARTITIONS, SAMPLES, STREAMS)
            checks.check("its checkpoints hold every sample", len(streams) == STREAMS and
                         all(s["samples"] == SAMPLES for s in streams.values()), str(len(streams)))
            first.stop()
            with NatsClient(nats.client_ports[0]) as client:
                for p in range(PARTITIONS):
                    head = decode_head(client.kv_get(BUCKET, f"snap.{p}"))
                    checks.check(f"snap.{p} is an inline version 3 head", head["version"] == 3 and not head["chunked"])
                    client.kv_put(BUCKET, f"snap.{p}", version1(head))
                    checks.check(f"snap.{p} now reads as version 1",
                                 decode_head(client.kv_get(BUCKET, f"snap.{p}"))["version"] == 1)

            second = Daemon(cluster_config(os.path.join(d, "lstmad-1.yaml"), model, nats, "i1", PARTITIONS))
            checks.check("a new instance takes both partitions over", wait_owned(second, PARTITIONS) == [PARTITIONS])
            acquired = []
            deadline = time.time() + 30  # the takeover (and its log line) comes after the lease
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
            # Until the windows have come and every sample is checkpointed
            # (acknowledged: nothing can be scored again after), not merely
            # until the count has not moved for a moment.
            after = wait_settled([second], before + STREAMS,
                                 checkpoints=(nats.client_ports[0], PARTITIONS, SAMPLES + 1, STREAMS))
            checks.check("one new sample per stream scores one window per stream (lookback kept)",
                         after - before == STREAMS, f"{after - before}")
            streams = wait_checkpoints(nats.client_ports[0], PARTITIONS, SAMPLES + 1, STREAMS)
            checks.check("every stream's checkpoint has every sample once", len(streams) == STREAMS and
                         all(s["samples"] == SAMPLES + 1 for s in streams.values()), str(len(streams)))
            with NatsClient(nats.client_ports[0]) as client:
                heads = [decode_head(client.kv_get(BUCKET, f"snap.{p}")) for p in range(PARTITIONS)]
            checks.check("the heads are version 3 now, the new owner's, of stream LSTMAD",
                         all(h["version"] == 3 and h["owner"] == "i1" and h["stream"] == "LSTMAD" for h in heads),
                         str([(h["version"], h["owner"], h["stream"]) for h in heads]))

            # Growing to two streams: drained (every sample scored and
            # checkpointed, above), every instance stopped.
            second.stop()
            grown = os.path.join(d, "lstmad-2.yaml")
            cluster_config(grown, model, nats, "i2", PARTITIONS, extra="  streams: 2\n")
            refused_start = subprocess.run([BIN, "serve", "--config", grown], capture_output=True, text=True,
                                           timeout=120)
            checks.check("with the old stream still there, the new layout is refused at start (exit 2)",
                         refused_start.returncode == 2 and "Changing nats.streams" in refused_start.stderr,
                         f"{refused_start.returncode}: {refused_start.stderr[-600:]}")
            with NatsClient(nats.client_ports[0]) as client:
                deleted = json.loads(client.request("$JS.API.STREAM.DELETE.LSTMAD", b""))
            checks.check("the old stream is deleted", deleted.get("success") is True, str(deleted))
            third = Daemon(grown)
            try:
                checks.check("the grown instance takes both partitions over", wait_owned(third, PARTITIONS) ==
                             [PARTITIONS])
                migrated, seen = third.poll(lambda m: total(m, "lstmad_cluster_checkpoints_total",
                                                            result="migrated") == PARTITIONS, timeout=30)
                checks.check("both checkpoints are counted as migrated", migrated,
                             str(total(seen, "lstmad_cluster_checkpoints_total", result="migrated")))
                checks.check("refusing none", total(third.metrics(), "lstmad_cluster_checkpoints_total",
                                                    result="refused") == 0)
                # The line is logged just after the count moves: wait for it (bounded).
                checks.check("the migration is logged", third.logged("checkpoint of another stream layout"))
                before = total(third.metrics(), "lstmad_windows_scored_total")
                with NatsClient(nats.client_ports[2]) as client:
                    publish_rounds(client, STREAMS, SAMPLES + 1, 1)
                after = wait_settled([third], before + STREAMS,
                                     checkpoints=(nats.client_ports[0], PARTITIONS, SAMPLES + 2, STREAMS))
                checks.check("after the migration one new sample per stream scores one window per stream",
                             after - before == STREAMS, f"{after - before}")
                streams = wait_checkpoints(nats.client_ports[0], PARTITIONS, SAMPLES + 2, STREAMS)
                checks.check("every stream's checkpoint has every sample once", len(streams) == STREAMS and
                             all(s["samples"] == SAMPLES + 2 for s in streams.values()), str(len(streams)))
                with NatsClient(nats.client_ports[0]) as client:
                    heads = [decode_head(client.kv_get(BUCKET, f"snap.{p}")) for p in range(PARTITIONS)]
                checks.check("the heads name the partitions' new streams",
                             [h["stream"] for h in heads] == ["LSTMAD_0", "LSTMAD_1"] and
                             sum(h["sequence"] for h in heads) == STREAMS,
                             str([(h["stream"], h["sequence"]) for h in heads]))
            finally:
                third.stop()
        finally:
            first.stop()
            if second is not None:
                second.stop()
    checks.finish()


if __name__ == "__main__":
    main()
