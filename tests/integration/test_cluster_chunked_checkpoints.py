"""Issue 9: partition checkpoints larger than the servers' max_payload. The
NATS servers here allow 64 KiB messages and each partition's streams take
several times that, so every checkpoint is a manifest head over several
chunks. SIGKILL the owner of some partitions while samples are published:
its partitions move with their chunked checkpoints; every stream applied
every sample exactly once and its window is the last T samples (read by the
test's own decoder, which follows and verifies the chunks); one new sample
per stream scores one window per stream; and at the end no chunk is left
that no head names (including a stale generation planted for the victim's
partitions, as a head write that failed would leave it). Then a checkpoint
with a chunk removed is refused as a whole at its next takeover: logged,
counted, its streams start empty (nothing applied twice)."""
import json
import os
import signal
import threading
import time

from cluster_support import (T0_NS, chunk_key, cluster_config, decode_checkpoint, decode_head, owned, publish_rounds, scrape_all,
                             stream_key, wait_balanced, wait_checkpoints, wait_quiet, wait_scored, wait_settled)
from daemon_harness import Daemon, pump_values, total, train_pump_model
from lstmad_cli import Checks, tempdir
from nats_harness import NatsClient, NatsCluster

LOOKBACK = 20
STREAMS = 1200
PARTITIONS = 3
MAX_PAYLOAD = 65536
LEASE_TTL = 3.0
PHASE1, PHASE2 = LOOKBACK + 2, 30  # samples per stream
BUCKET = "LSTMAD_state"
STALE_GENERATION = 0x5EED0000DEADBEEF


def heads(client):
    """{partition: decoded head}"""
    out = {}
    for p in range(PARTITIONS):
        data = client.kv_get(BUCKET, f"snap.{p}")
        if data is not None:
            out[p] = decode_head(data)
    return out


def unreferenced_chunks(client):
    """Chunk keys of the state bucket that no head names (the listing is
    taken twice around reading the heads, so a checkpoint that replaced its
    generation meanwhile shows as a change, not as an orphan)."""
    before = set(client.kv_subjects(BUCKET, "snap."))
    hs = heads(client)
    after = set(client.kv_subjects(BUCKET, "snap."))
    if before != after:
        return None
    named = {f"snap.{p}" for p in hs}
    for p, h in hs.items():
        if h["chunked"]:
            named |= {chunk_key(f"snap.{p}", h["generation"], i) for i in range(h["chunks"])}
    missing = named - after
    assert not missing, f"chunks named by a head are missing: {sorted(missing)[:5]}"
    return sorted(after - named)


def main():
    checks = Checks()
    with tempdir() as d, NatsCluster(PARTITIONS, max_payload=MAX_PAYLOAD) as nats:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=2, samples=600, encoder="8,4", decoder="4,8")
        instances = []
        for i in range(3):
            cfg = cluster_config(os.path.join(d, f"lstmad-{i}.yaml"), model, nats, f"i{i}", PARTITIONS,
                                 lease_ttl=f"{LEASE_TTL}s")
            instances.append(Daemon(cfg))
        try:
            wait_balanced(instances, PARTITIONS)
            with NatsClient(nats.client_ports[0]) as client:
                publish_rounds(client, STREAMS, 0, PHASE1)
            wait_scored(instances, STREAMS * (PHASE1 - LOOKBACK + 1), nats=nats)
            streams = wait_checkpoints(nats.client_ports[0], PARTITIONS, PHASE1, STREAMS)
            checks.check("phase 1 is in the checkpoints", len(streams) == STREAMS and
                         all(s["samples"] == PHASE1 for s in streams.values()), str(len(streams)))
            with NatsClient(nats.client_ports[0]) as client:
                hs = heads(client)
                chunk_counts = [h.get("chunks", 0) for h in hs.values()]
                checks.check("every partition's checkpoint is a version 3 manifest over several chunks",
                             len(hs) == PARTITIONS and all(h["version"] == 3 and h["chunked"] for h in hs.values())
                             and min(chunk_counts) >= 2, str(chunk_counts))
                largest = max(len(v) for k, v in ((k, client.kv_get(BUCKET, k)) for k in
                                                   client.kv_subjects(BUCKET, "snap.")) if v is not None)
                checks.check("and every stored value fits max_payload", largest <= MAX_PAYLOAD, str(largest))
                victim_id = hs[0]["owner"]
                victim = int(victim_id[1:])
                victim_partitions = [p for p, h in hs.items() if h["owner"] == victim_id]
                # What a failed head write of an earlier owner would leave behind.
                for p in victim_partitions:
                    for i in range(2):
                        client.kv_put(BUCKET, chunk_key(f"snap.{p}", STALE_GENERATION, i), b"stale chunk")
            survivors = [x for k, x in enumerate(instances) if k != victim]

            published = threading.Event()
            progress = [0]
            errors = []

            def publish_phase2():
                try:
                    with NatsClient(nats.client_ports[1]) as c:
                        for i in range(PHASE1, PHASE1 + PHASE2):
                            publish_rounds(c, STREAMS, i, 1)
                            progress[0] = i
                except Exception as e:  # reported below
                    errors.append(e)
                published.set()

            publisher = threading.Thread(target=publish_phase2, daemon=True)
            publisher.start()
            deadline = time.time() + 30
            while progress[0] < PHASE1 + 4 and time.time() < deadline and not published.is_set():
                time.sleep(0.02)
            instances[victim].signal(signal.SIGKILL)
            killed_at = time.time()
            instances[victim].proc.wait(timeout=10)
            checks.check("the victim died mid-stream", not published.is_set(), f"round {progress[0]}")
            moved = None
            while time.time() < killed_at + 4 * LEASE_TTL + 10:
                if sum(owned(survivors)) == PARTITIONS:
                    moved = time.time() - killed_at
                    break
                time.sleep(0.05)
            checks.check("its partitions moved to the survivors", moved is not None, f"{moved}")
            published.wait(timeout=60)
            checks.check("phase 2 published completely", not errors and progress[0] == PHASE1 + PHASE2 - 1,
                         str(errors))
            # Until every stream's checkpoint holds all of phase 2 (every sample
            # scored and acknowledged: no redelivery can follow), not merely
            # until scoring pauses for 1.5 s, which a takeover on a loaded host can.
            wait_checkpoints(nats.client_ports[0], PARTITIONS, PHASE1 + PHASE2, STREAMS, timeout=90)
            wait_quiet(survivors)
            ms = scrape_all(survivors)
            refused = sum(total(m, "lstmad_cluster_checkpoints_total", result="refused") for m in ms)
            checks.check("the survivors took the chunked checkpoints over without refusing one", refused == 0,
                         str(refused))

            # Every stream, the victim's too, scores a window on its first new sample.
            before = sum(total(m, "lstmad_windows_scored_total") for m in ms)
            with NatsClient(nats.client_ports[2]) as client:
                publish_rounds(client, STREAMS, PHASE1 + PHASE2, 1)
            after = wait_settled(survivors, before + STREAMS,
                                 checkpoints=(nats.client_ports[0], PARTITIONS, PHASE1 + PHASE2 + 1, STREAMS))
            checks.check("one new sample per stream after the failover scores exactly one window per stream",
                         after - before == STREAMS, f"{after - before}")

            n_total = PHASE1 + PHASE2 + 1
            streams = wait_checkpoints(nats.client_ports[0], PARTITIONS, n_total, STREAMS)
            checks.check("the checkpoints hold every stream", len(streams) == STREAMS, str(len(streams)))
            wrong_count = [k for k, s in streams.items() if s["samples"] != n_total]
            checks.check(f"every stream applied exactly {n_total} samples (none lost, none twice)", not wrong_count,
                         f"{len(wrong_count)} wrong, e.g. {wrong_count[:3]}")
            bad_window = []
            for j in range(STREAMS):
                s = streams.get(stream_key(j))
                if s is None:
                    continue
                want_t = [T0_NS + i * 1_000_000_000 for i in range(n_total - LOOKBACK, n_total)]
                want_v = [[float(f"{x:.6f}") for x in pump_values(i, phase=0.1 * (j % 17))]
                          for i in range(n_total - LOOKBACK, n_total)]
                ok = s["times_ns"] == want_t and all(abs(a - b) <= 1e-5 * max(1.0, abs(b))
                                                     for row, wrow in zip(s["values"], want_v)
                                                     for a, b in zip(row, wrow))
                if not ok:
                    bad_window.append(j)
            checks.check("every stream's window is its last T published samples", not bad_window,
                         f"{len(bad_window)} wrong")

            with NatsClient(nats.client_ports[0]) as client:
                leftover = None
                deadline = time.time() + 10
                while time.time() < deadline:
                    leftover = unreferenced_chunks(client)
                    if leftover == []:
                        break
                    time.sleep(0.2)
                hs = heads(client)
            checks.check("no chunk is left that no head names (the planted stale generation included)",
                         leftover == [], str(leftover[:5] if leftover else leftover))
            checks.check("the survivors own every partition's head", {h["owner"] for h in hs.values()} <=
                         {f"i{k}" for k in range(3) if k != victim} and len(hs) == PARTITIONS,
                         str({p: h["owner"] for p, h in hs.items()}))

            # A checkpoint with a chunk missing is refused as a whole when its
            # partition next moves: its streams start empty, from the
            # consumer's acknowledged floor (nothing applied twice).
            damaged = 0
            owner = instances[int(hs[damaged]["owner"][1:])]
            other = [x for x in survivors if x is not owner][0]
            with NatsClient(nats.client_ports[0]) as client:
                lost = chunk_key(f"snap.{damaged}", hs[damaged]["generation"], 1)
                damaged_streams = len(decode_checkpoint(client.kv_get(BUCKET, f"snap.{damaged}"),
                                                        lambda k: client.kv_get(BUCKET, k), f"snap.{damaged}")[1])
                rep = client.request(f"$JS.API.STREAM.PURGE.KV_{BUCKET}",
                                     json.dumps({"filter": f"$KV.{BUCKET}.{lost}"}).encode())
                checks.check("one chunk of a checkpoint removed", b'"purged":1' in rep, rep.decode())
            refused_before = total(other.metrics(), "lstmad_cluster_checkpoints_total", result="refused")
            owner.signal(signal.SIGTERM)  # hands its partitions over without writing new checkpoints
            owner.proc.wait(timeout=30)
            deadline = time.time() + 40
            while time.time() < deadline and owned([other]) != [PARTITIONS]:
                time.sleep(0.05)
            checks.check("the remaining instance took every partition", owned([other]) == [PARTITIONS],
                         str(owned([other])))
            checks.check("it refused the damaged checkpoint, naming the missing chunk",
                         other.logged("checkpoint refused", timeout=30) and
                         any(f"checkpoint chunk 1 of {hs[damaged]['chunks']} (generation "
                             f"{hs[damaged]['generation']:016x}) is missing" in x for x in other.logs()),
                         "\n".join(x for x in other.logs() if "refused" in x))
            refused = total(other.metrics(), "lstmad_cluster_checkpoints_total", result="refused") - refused_before
            checks.check("and counted it (once: the other partitions' checkpoints were whole)", refused == 1,
                         str(refused))
            before = total(other.metrics(), "lstmad_windows_scored_total")
            with NatsClient(nats.client_ports[2]) as client:
                publish_rounds(client, STREAMS, n_total, 1)
            # The refused checkpoint's streams start empty: no window of theirs
            # can come, so this waits for the others' and then for quiet.
            after = wait_settled([other], before + STREAMS - damaged_streams)
            checks.check("a new sample scores a window for every stream but those of the refused checkpoint",
                         after - before == STREAMS - damaged_streams,
                         f"{after - before}, want {STREAMS} - {damaged_streams}")
            with NatsClient(nats.client_ports[0]) as client:
                leftover = None
                deadline = time.time() + 10
                while time.time() < deadline:
                    leftover = unreferenced_chunks(client)
                    if leftover == []:
                        break
                    time.sleep(0.2)
            checks.check("the damaged generation's remaining chunks were removed", leftover == [],
                         str(leftover[:5] if leftover else leftover))
        finally:
            for inst in instances:
                inst.stop()
    checks.finish()


if __name__ == "__main__":
    main()
