"""Issue 9, acceptance 2: SIGKILL one of 3 lstmad instances while samples are
being published. Its partitions move to the survivors within the lease
time; every published sample is applied exactly once to its stream (the
checkpoints in the state bucket say how many, and which last T); windows
continue without a T-sample gap (one new sample per stream scores one
window per stream); the victim's firing alert keeps firing at its new owner
and resolves there exactly `clear` windows after the fault ends, with no
second `fired` event. A real Alertmanager hears of it from the new owner at
the takeover (same startsAt), and of its resolution.

test_cluster_streams.py runs the same with the partitions spread over
several streams and phase 2 published as batch messages (issue 19)."""
import json
import os
import signal
import threading
import time

from alertmanager_harness import am_alerts, start_alertmanager, wait
from cluster_support import (T0_NS, cluster_config, iso_ns, owned, publish_batched_round, publish_rounds,
                             scrape_all, stream_key, wait_balanced, wait_checkpoints, wait_scored, wait_settled)
from daemon_harness import Daemon, pump_values, total, train_pump_model
from lstmad_cli import Checks, tempdir
from nats_harness import NatsClient, NatsCluster

LOOKBACK = 5
STREAMS = 1000
PARTITIONS = 6
LEASE_TTL = 3.0
PHASE1, PHASE2, PHASE3 = 10, 20, 10  # samples per stream
FAULT = range(5, PHASE1 + PHASE2)    # stream s0 is faulty from sample 5 to the end of phase 2
ALERT = stream_key(0)
# Slack over lease expiry + one coordinator round for the partitions to move:
# a sanitizer build (CI's ASan step) runs the coordinator, the scoring of
# phase 2 and the scrapes several times slower on the same 2 cores.
MOVE_SLACK_S = 3.0 + (2 * LEASE_TTL if os.environ.get("LSTMAD_UNDER_SANITIZER") else 0.0)


def values(j, i):
    v = pump_values(i, phase=0.1 * (j % 17))
    if j == 0 and i in FAULT:
        v[3] += 200.0
    return v


def main(streams=1, batch=0, on_ready=None):
    """streams: nats.streams; batch > 0: phase 2 is published as batch
    messages of up to `batch` samples of a partition each; on_ready(checks,
    nats): called once the instances are balanced."""
    checks = Checks()
    layout = f"  streams: {streams}\n" if streams > 1 else ""
    with tempdir() as d, NatsCluster(PARTITIONS) as nats:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=2, samples=600, encoder="8,4", decoder="4,8")
        instances, events = [], []
        am, am_port = start_alertmanager(os.path.join(d, "alertmanager"))
        # A long resend interval: within the test only a takeover re-sends the alert.
        am_cfg = f"alertmanager:\n  urls: [\"http://127.0.0.1:{am_port}\"]\n  resend_interval_s: 600\n"
        for i in range(3):
            ev = os.path.join(d, f"events-{i}.jsonl")
            cfg = cluster_config(os.path.join(d, f"lstmad-{i}.yaml"), model, nats, f"i{i}", PARTITIONS,
                                 lease_ttl=f"{LEASE_TTL}s", extra=layout + f"events:\n  path: {ev}\n" + am_cfg)
            instances.append(Daemon(cfg))
            events.append(ev)
        try:
            wait_balanced(instances, PARTITIONS)
            if on_ready is not None:
                on_ready(checks, nats)
            with NatsClient(nats.client_ports[0]) as client:
                publish_rounds(client, STREAMS, 0, PHASE1, values)
            wait_scored(instances, STREAMS * (PHASE1 - LOOKBACK + 1), nats=nats)
            # Read until it holds (bounded): the instances are scraped one after another.
            deadline = time.time() + 10
            while True:
                firing = [total(m, "lstmad_stream_anomalous", stream=ALERT) for m in scrape_all(instances)]
                if sorted(firing) == [0, 0, 1] or time.time() > deadline:
                    break
                time.sleep(0.1)
            checks.check("the faulty stream's alert fires on exactly one instance", sorted(firing) == [0, 0, 1],
                         str(firing))
            victim = firing.index(1) if 1 in firing else 0
            before_kill = wait(lambda: am_alerts(am_port))
            checks.check("Alertmanager has the alert from its first owner",
                         bool(before_kill) and before_kill[0]["labels"]["stream"] == ALERT, str(before_kill))
            # The firing must be in a checkpoint before the kill: otherwise the
            # new owner replays the samples that fired it and fires it again
            # (an at-least-once duplicate after a failover, not this test's case).
            settled = wait_checkpoints(nats.client_ports[0], PARTITIONS, PHASE1, STREAMS)
            checks.check("phase 1 is checkpointed, the alert's firing with it",
                         len(settled) == STREAMS and settled.get(ALERT, {}).get("firing") is True,
                         f"{len(settled)} streams, alert stream {settled.get(ALERT, {}).get('firing')}")
            survivors = [x for k, x in enumerate(instances) if k != victim]
            survivor_events = [e for k, e in enumerate(events) if k != victim]

            # Phase 2 is published in the background; the victim dies part-way.
            published = threading.Event()
            # The publisher pauses after round PHASE1 + 5 until the victim is
            # killed, so the kill lands mid-stream however fast publishing is
            # (batched rounds finished before a poll noticed them, once).
            killed = threading.Event()
            progress = [0]
            errors = []

            def publish_phase2():
                try:
                    with NatsClient(nats.client_ports[1]) as c:
                        for i in range(PHASE1, PHASE1 + PHASE2):
                            if batch:
                                publish_batched_round(c, STREAMS, PARTITIONS, i, batch, values)
                            else:
                                publish_rounds(c, STREAMS, i, 1, values)
                            progress[0] = i
                            if i == PHASE1 + 5:
                                killed.wait(30)
                except Exception as e:  # reported below
                    errors.append(e)
                published.set()

            publisher = threading.Thread(target=publish_phase2, daemon=True)
            publisher.start()
            deadline = time.time() + 30
            while progress[0] < PHASE1 + 5 and time.time() < deadline and not published.is_set():
                time.sleep(0.02)
            instances[victim].signal(signal.SIGKILL)
            killed_at = time.time()
            instances[victim].proc.wait(timeout=10)
            checks.check("the victim died mid-stream", not published.is_set(), f"round {progress[0]}")
            killed.set()  # the rest of phase 2 goes on while the partitions move
            moved = None
            while time.time() < killed_at + 4 * LEASE_TTL + 10:
                if sum(owned(survivors)) == PARTITIONS:
                    moved = time.time() - killed_at
                    break
                time.sleep(0.05)
            budget = LEASE_TTL + LEASE_TTL / 3 + MOVE_SLACK_S  # lease expiry + one coordinator round + slack for a loaded host
            checks.check(f"its partitions moved to the survivors within {budget:.1f}s", moved is not None and moved <= budget,
                         f"{moved}s" if moved is not None else "never")
            # The lease is taken first, then the partition's thread restores its
            # checkpoint: give the restore a moment (bounded).
            deadline = time.time() + 15
            while True:
                firing = [total(m, "lstmad_stream_anomalous", stream=ALERT) for m in scrape_all(survivors)]
                if sorted(firing) == [0, 1] or time.time() > deadline:
                    break
                time.sleep(0.05)
            checks.check("the alert is firing at its new owner right after the takeover", sorted(firing) == [0, 1],
                         str(firing))
            first = before_kill[0] if before_kill else {}
            again = wait(lambda: [a for a in am_alerts(am_port) if a["updatedAt"] != first.get("updatedAt")],
                         timeout=20)
            checks.check("the new owner re-sends it to Alertmanager at the takeover, with the same startsAt",
                         bool(again) and len(again) == 1 and again[0]["startsAt"] == first.get("startsAt") and
                         again[0]["annotations"] == first.get("annotations"), str(again))
            published.wait(timeout=60)
            checks.check("phase 2 published completely", not errors and progress[0] == PHASE1 + PHASE2 - 1,
                         str(errors))
            # Settled: every stream's checkpoint holds all of phase 2 (every
            # sample scored and acknowledged, so no redelivery can follow), not
            # merely no change for 1.5 s, which a loaded host can pause for.
            ckpt = lambda samples: (nats.client_ports[0], PARTITIONS, samples, STREAMS)
            before = wait_settled(survivors, 0, checkpoints=ckpt(PHASE1 + PHASE2), timeout=90)

            # Phase 3: every stream, the victim's too, scores a window on its first new sample.
            with NatsClient(nats.client_ports[2]) as client:
                publish_rounds(client, STREAMS, PHASE1 + PHASE2, 1, values)
            after = wait_settled(survivors, before + STREAMS, checkpoints=ckpt(PHASE1 + PHASE2 + 1))
            checks.check("one new sample per stream after the failover scores exactly one window per stream",
                         after - before == STREAMS, f"{after - before}")
            with NatsClient(nats.client_ports[2]) as client:
                publish_rounds(client, STREAMS, PHASE1 + PHASE2 + 1, PHASE3 - 1, values)
            after = wait_settled(survivors, before + STREAMS * PHASE3, checkpoints=ckpt(PHASE1 + PHASE2 + PHASE3))
            checks.check("then every further sample scores one window", after - before == STREAMS * PHASE3,
                         f"{after - before}")

            ms = scrape_all(survivors)
            redelivered = sum(total(m, "lstmad_cluster_redelivered_samples_total") for m in ms)
            checks.check("redelivered samples are counted and bounded by what the victim could have fetched",
                         0 <= redelivered <= STREAMS * PHASE2, str(redelivered))

            # What the checkpoints say: each stream saw every sample once, in order.
            n_total = PHASE1 + PHASE2 + PHASE3
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
                want_v = [[float(f"{x:.6f}") for x in values(j, i)] for i in range(n_total - LOOKBACK, n_total)]
                ok = s["times_ns"] == want_t and all(abs(a - b) <= 1e-5 * max(1.0, abs(b))
                                                     for row, wrow in zip(s["values"], want_v)
                                                     for a, b in zip(row, wrow))
                if not ok:
                    bad_window.append(j)
            checks.check("every stream's window is its last T published samples", not bad_window,
                         f"{len(bad_window)} wrong")

            # The alert moved with its partition: resolved there, never fired again.
            records = []
            for path in survivor_events:
                if os.path.exists(path):
                    with open(path) as f:
                        records += [json.loads(x) for x in f if x.strip()]
            alert = [r for r in records if r["stream"] == ALERT]
            checks.check("no second `fired` event for the moved alert", all(r["kind"] != "fired" for r in alert),
                         str([r["kind"] for r in alert]))
            resolved = [r for r in alert if r["kind"] == "resolved"]
            # The first all-normal window ends at sample FAULT.stop + T - 1; `clear` = 2 windows later - 1.
            want_end = FAULT.stop + LOOKBACK - 1 + 2 - 1
            got_end = round((iso_ns(resolved[0]["window_end"]) - T0_NS) / 1e9) if resolved else None
            checks.check("the alert resolves at its new owner exactly `clear` windows after the fault",
                         len(resolved) == 1 and got_end == want_end, f"window end {got_end}, want {want_end}")
            left = wait(lambda: not am_alerts(am_port) and [True], timeout=15)
            checks.check("and Alertmanager hears of the resolution (no active alert left)", bool(left),
                         str(am_alerts(am_port)))
        finally:
            for inst in instances:
                inst.stop()
            am.terminate()
            am.wait(timeout=10)
    checks.finish()


if __name__ == "__main__":
    main()
