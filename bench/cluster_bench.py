#!/usr/bin/python3
"""Cluster-mode throughput: how fast K lstmad instances (K = 1, 2, 3) on a
3-node NATS JetStream cluster (replicas 3) consume and score a backlog.

For each K: a fresh NATS cluster; --streams streams x --samples samples are
published first (pipelined, acknowledged JetStream publishes through the
partition mapping), then K instances start together and the clock runs from
their start until lstmad_windows_scored_total summed over them reaches
streams x (samples - T + 1). The backlog makes the publisher's own speed
irrelevant: the figure is what the instances (and NATS serving them) sustain.
Everything runs on this machine, NATS nodes included, so on a small host the
instances compete with the three nats-server processes for the same cores.

    bench/cluster_bench.py [--streams 1000] [--samples 60] [--partitions 6] [--model t3f2|pump]
Prints one line per K: windows/s between 10% and 90% of the backlog (past
the start-up), samples/s over the whole run, per-instance share, CPU seconds
of the lstmad processes and of the nats-server processes.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("LSTMAD_BIN", os.path.join(HERE, "..", "build", "release", "tools", "lstmad"))

from cluster_support import publish_rounds, scored, start_instances, total  # noqa: E402
from daemon_harness import train_pump_model  # noqa: E402
from lstmad_cli import tempdir  # noqa: E402
from nats_harness import NatsClient, NatsCluster  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(k, args, model, lookback):
    with tempdir() as d, NatsCluster(args.partitions) as nats:
        t = time.time()
        nats_pub0 = sum(cpu_seconds(p.pid) for p in nats.procs)
        with NatsClient(nats.client_ports[0]) as client:
            # The stream must exist before the backlog is published: one
            # instance creates it (and the buckets) and stops again.
            first = start_instances(os.path.join(d), model, nats, args.partitions, 1)
            first[0].stop()
            publish_rounds(client, args.streams, 0, args.samples)
        pub = time.time() - t
        nats_cpu0 = sum(cpu_seconds(p.pid) for p in nats.procs)
        nats_pub = nats_cpu0 - nats_pub0
        start = time.time()
        inst = start_instances(d, model, nats, args.partitions, k, lease_ttl="3s", checkpoint="500ms")
        try:
            expected = args.streams * (args.samples - lookback + 1)
            # The steady rate is taken between 10% and 90% of the backlog,
            # past the start-up (model load, the first lease round).
            t10 = t90 = None
            while True:
                got = scored(inst)
                now = time.time()
                if t10 is None and got >= 0.1 * expected:
                    t10 = now
                if t90 is None and got >= 0.9 * expected:
                    t90 = now
                if got >= expected:
                    break
                if now - start > args.timeout:
                    raise SystemExit(f"K={k}: only {got} of {expected} windows in {args.timeout}s")
                time.sleep(0.02)
            wall = time.time() - start
            steady = 0.8 * expected / max(t90 - t10, 1e-3)
            ms = [x.metrics() for x in inst]
            share = [int(total(m, "lstmad_windows_scored_total")) for m in ms]
            lcpu = sum(cpu_seconds(x.proc.pid) for x in inst)
            ncpu = sum(cpu_seconds(p.pid) for p in nats.procs) - nats_cpu0
        finally:
            for x in inst:
                x.stop()
    samples = args.streams * args.samples
    print(f"K={k} partitions={args.partitions}: {steady:9.0f} windows/s steady (10%-90%), "
          f"{samples / wall:9.0f} samples/s overall (wall {wall:.1f}s incl. start-up; shares {share}; lstmad CPU {lcpu:.1f}s, nats CPU {ncpu:.1f}s; "
          f"backlog published in {pub:.1f}s, nats CPU {nats_pub:.1f}s for it)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--instances", default="1,2,3")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    with tempdir() as d:
        lookback = 10
        model = train_pump_model(d, lookback=lookback, epochs=2, samples=600)
        print(f"model: pump T={lookback} F=4 enc 32,16 dec 16,32; {os.cpu_count()} CPUs", flush=True)
        for k in [int(x) for x in args.instances.split(",")]:
            run(k, args, model, lookback)


if __name__ == "__main__":
    main()
