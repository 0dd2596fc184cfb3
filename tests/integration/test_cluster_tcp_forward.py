"""Issue 9, TCP in cluster mode: samples sent over TCP to one instance are
forwarded to JetStream (nats.tcp_ingest: forward, the default) and scored by
their partitions' owners. A 3-node NATS cluster and 2 instances; 300 streams
x 10 samples, plus bad lines, go to instance 0's TCP listener only:
- the windows scored over both instances are exactly streams x (samples - T + 1),
  and both instances scored (the partitions are spread);
- every stream's checkpoint has every sample once, its window the last T in order;
- the bad lines are rejected and counted at instance 0 with their reasons;
- lstmad_cluster_forwarded_samples_total{result="published"} is the good lines.
Then tcp_ingest: local on a third instance scores TCP samples in that process
and publishes nothing; and an instance whose subjects no server maps counts
its lines as failed after nats.forward_timeout. The instances forward batch
messages (nats.batch_max_samples 100, the default), except the unmapped one:
a batch goes to its partition's subject, which needs no mapping, so that
check is of the one-line-per-message path (batch_max_samples 1)."""
import os
import time

from cluster_support import (T0_NS, cluster_config, scored, scrape_all, start_instances, stream_key, streams_seen,
                             wait_balanced, wait_checkpoints, wait_quiet, wait_scored)
from daemon_harness import Daemon, line, pump_values, total, train_pump_model
from lstmad_cli import Checks, tempdir
from nats_harness import NatsCluster

LOOKBACK = 5
STREAMS = 300
SAMPLES = 10
PARTITIONS = 6
# Each twice, spread through the good lines: (line, reason).
BAD = [("pump,site=bad1 temperature=", "parse_error"),
       ("fan,site=bad2 temperature=1,pressure=1,vibration=1,flow=1 1", "unknown_measurement"),
       ("pump,site=bad3 temperature=1,pressure=1,vibration=1 1", "missing_field"),
       ("pump,site=bad4 temperature=1e39,pressure=1,vibration=1,flow=1 1", "non_finite")]


def sample_line(j, i):
    return line("pump", {"site": f"s{j}"}, pump_values(i, phase=0.1 * (j % 17)), ts=T0_NS + i * 1_000_000_000)


def forwarded(metrics, result):
    return total(metrics, "lstmad_cluster_forwarded_samples_total", result=result)


def wait_forwarded(instance, expected, timeout=30):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        m = instance.metrics()
        got = forwarded(m, "published") + forwarded(m, "failed") + forwarded(m, "queue_full")
        if got >= expected:
            return
        time.sleep(0.1)
    raise AssertionError(f"{got} of {expected} lines forwarded after {timeout}s")


def main():
    checks = Checks()
    with tempdir() as d, NatsCluster(PARTITIONS) as nats:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=2, samples=600, encoder="8,4", decoder="4,8")
        instances = start_instances(d, model, nats, PARTITIONS, 2)
        try:
            o = wait_balanced(instances, PARTITIONS)
            checks.check("6 partitions spread 3/3 over 2 instances", sorted(o) == [3, 3], str(o))
            text = []
            for i in range(SAMPLES):  # one sample of every stream at a time, as a fleet sends them
                text += [sample_line(j, i) for j in range(STREAMS)]
                if i in (2, 7):
                    text += [b + "\n" for b, _ in BAD] + ["# a comment is skipped, not rejected\n"]
            good = STREAMS * SAMPLES
            with instances[0].connect() as sock:
                instances[0].send("".join(text), sock)
            wait_forwarded(instances[0], good)
            expected = STREAMS * (SAMPLES - LOOKBACK + 1)
            wait_scored(instances, expected, timeout=30, nats=nats)
            wait_quiet(instances, quiet=1.5, timeout=30)  # a window scored twice would show by now
            ms = scrape_all(instances)
            per = [total(m, "lstmad_windows_scored_total") for m in ms]
            checks.check("windows scored across instances == streams * (samples - T + 1)",
                         sum(per) == expected, f"{per} sum {sum(per)} expected {expected}")
            checks.check("both instances scored a share", all(p > 0 for p in per), str(per))
            seen = [streams_seen(m) for m in ms]
            checks.check("every stream scored, each by one instance",
                         set().union(*seen) == {stream_key(j) for j in range(STREAMS)} and not (seen[0] & seen[1]),
                         f"{len(set().union(*seen))} streams, {len(seen[0] & seen[1])} on both")
            m0, m1 = ms
            checks.check("published == the good lines", forwarded(m0, "published") == good,
                         f"{forwarded(m0, 'published')} of {good}")
            checks.check("nothing failed or refused", forwarded(m0, "failed") == 0 and forwarded(m0, "queue_full") == 0,
                         f"failed {forwarded(m0, 'failed')} queue_full {forwarded(m0, 'queue_full')}")
            checks.check("the forward queue is empty", total(m0, "lstmad_cluster_forward_queue_lines") == 0)
            for _, reason in BAD:
                n = total(m0, "lstmad_samples_rejected_total", reason=reason)
                checks.check(f"instance 0 rejected 2 lines as {reason}", n == 2, str(n))
            checks.check("nothing rejected at instance 1", total(m1, "lstmad_samples_rejected_total") == 0)
            checks.check("instance 1 forwarded nothing", forwarded(m1, "published") == 0)
            checks.check("rejections logged at instance 0 with their reason",
                         instances[0].logged("sample rejected reason=non_finite"))
            consumed = sum(total(m, "lstmad_cluster_samples_consumed_total") for m in ms)
            checks.check("every good line consumed once from the partitions", consumed == good, str(consumed))
            streams = wait_checkpoints(nats.client_ports[0], PARTITIONS, SAMPLES, STREAMS)
            ok = len(streams) == STREAMS and all(s["samples"] == SAMPLES for s in streams.values())
            checks.check("checkpoints: every stream applied every sample exactly once", ok,
                         f"{len(streams)} streams; sample counts {sorted({s['samples'] for s in streams.values()})}")
            want_times = [T0_NS + i * 1_000_000_000 for i in range(SAMPLES - LOOKBACK, SAMPLES)]
            wrong = []
            for j in range(STREAMS):
                s = streams.get(stream_key(j))
                want_v = [[float(f"{x:.6f}") for x in pump_values(i, phase=0.1 * (j % 17))]
                          for i in range(SAMPLES - LOOKBACK, SAMPLES)]
                if s is None or s["times_ns"] != want_times or not all(
                        abs(a - b) <= 1e-5 * max(1.0, abs(b)) for row, wrow in zip(s["values"], want_v)
                        for a, b in zip(row, wrow)):
                    wrong.append(stream_key(j))
            checks.check("checkpoints: every window holds the last T samples sent, in order", not wrong,
                         f"{len(wrong)} wrong, e.g. {wrong[:3]}")
            code = instances[0].stop()
            checks.check("SIGTERM exits 0", code == 0)
            checks.check("the forwarder flushed on SIGTERM",
                         instances[0].logged(f"forwarder stopped published={good} failed=0"))
            # tcp_ingest: local keeps the single-node path: scored here, nothing published.
            cfg = cluster_config(os.path.join(d, "local.yaml"), model, nats, "local", PARTITIONS,
                                 extra="  tcp_ingest: local\n")
            with Daemon(cfg) as local:
                before = scored(instances[1:])
                local.send("".join(sample_line(j, SAMPLES + i) for i in range(LOOKBACK) for j in range(3)))
                local.wait_for(lambda m: total(m, "lstmad_windows_scored_total") >= 3, timeout=20,
                               what="local windows")
                m = local.metrics()
                # SIGTERM scores every received sample and flushes a forwarder
                # before the "stopped" line: its counts are final, and anything
                # published would be in JetStream by then.
                code = local.stop()
                stopped = next((x for x in local.logs() if "stopped samples_received=" in x), "no \"stopped\" line")
                checks.check("tcp_ingest: local scores the TCP samples in that process (3 streams x T samples: "
                             "one window each)",
                             f"samples_received={3 * LOOKBACK} " in stopped and "windows_scored=3 " in stopped,
                             stopped)
                checks.check("tcp_ingest: local publishes nothing to the partitions",
                             forwarded(m, "published") == 0 and scored(instances[1:]) == before
                             and total(m, "lstmad_cluster_samples_consumed_total") == 0
                             and not any("forwarder stopped" in x for x in local.logs()))
                checks.check("tcp_ingest: local instance stops cleanly", code == 0, str(code))
            # Lines NATS will not store are counted failed after forward_timeout, not lost
            # silently: no server maps other.in.*.* into a stream (no responders).
            cfg = cluster_config(os.path.join(d, "unmapped.yaml"), model, nats, "unmapped", PARTITIONS,
                                 extra="  stream: OTHER\n  subject_prefix: other\n  forward_timeout: 1s\n"
                                       "  batch_max_samples: 1\n")
            with Daemon(cfg) as unmapped:
                unmapped.send("".join(sample_line(j, 0) for j in range(3)) + sample_line(0, 1))
                m = unmapped.wait_for(lambda m: forwarded(m, "failed") >= 4, timeout=20, what="failed forwards")
                checks.check("lines JetStream does not store are counted failed, none published",
                             forwarded(m, "failed") == 4 and forwarded(m, "published") == 0,
                             f"failed {forwarded(m, 'failed')} published {forwarded(m, 'published')}")
                checks.check("a failed forward is logged with the subject",
                             unmapped.logged('sample not forwarded: publishing to NATS failed subject="other.in.pump.'),
                             "\n".join(l for l in unmapped.logs() if "forward" in l)[-600:])
                checks.check("the unmapped instance stops cleanly", unmapped.stop() == 0)
        finally:
            for inst in instances:
                inst.stop()
    checks.finish()


if __name__ == "__main__":
    main()
