#!/usr/bin/python3
"""How fast one lstmad instance forwards line protocol received over TCP to
NATS JetStream in cluster mode (nats.tcp_ingest: forward; docs/cluster.md).

A fresh 3-node NATS cluster (replicas 3) and one instance; --streams streams x
--samples samples, interleaved (one sample of every stream at a time, as a
fleet sends them), go over one TCP connection; the clock runs from the first
byte sent until lstmad_cluster_forwarded_samples_total (published + failed)
reaches the line count (polled every 50 ms). Everything runs on this machine.

    bench/cluster_tcp_forward_bench.py [--streams 1000] [--samples 20] [--runs 3]
Prints one line per run: lines published, seconds, lines/s, lines failed.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("LSTMAD_BIN", os.path.join(HERE, "..", "build", "release", "tools", "lstmad"))

from cluster_support import T0_NS, start_instances, wait_balanced  # noqa: E402
from daemon_harness import line, pump_values, total, train_pump_model  # noqa: E402
from lstmad_cli import tempdir  # noqa: E402
from nats_harness import NatsCluster  # noqa: E402

PARTITIONS = 6


def forwarded(instance):
    m = instance.metrics()
    return (total(m, "lstmad_cluster_forwarded_samples_total", result="published"),
            total(m, "lstmad_cluster_forwarded_samples_total", result="failed"))


def run(args, workdir, model):
    with NatsCluster(PARTITIONS) as nats:
        inst = start_instances(workdir, model, nats, PARTITIONS, 1, extra="  forward_queue: 10000000\n")
        try:
            wait_balanced(inst, PARTITIONS)
            text = "".join(line("pump", {"site": f"s{j}"}, pump_values(i), ts=T0_NS + i * 10**9)
                           for i in range(args.samples) for j in range(args.streams))
            n = args.streams * args.samples
            start = time.time()
            with inst[0].connect() as sock:
                inst[0].send(text, sock)
            published, failed = 0, 0
            while published + failed < n and time.time() - start < 300:
                time.sleep(0.05)
                published, failed = forwarded(inst[0])
            seconds = time.time() - start
            print(f"{published:.0f} of {n} lines published in {seconds:.2f} s: {published / seconds:,.0f} lines/s; "
                  f"{failed:.0f} failed", flush=True)
        finally:
            for i in inst:
                i.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempdir() as d:
        model = train_pump_model(d, lookback=5, epochs=2, samples=600, encoder="8,4", decoder="4,8")
        for r in range(args.runs):
            os.makedirs(os.path.join(d, f"run{r}"))
            run(args, os.path.join(d, f"run{r}"), model)


if __name__ == "__main__":
    main()
