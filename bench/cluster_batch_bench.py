#!/usr/bin/python3
"""Cluster scale-out (issue 19): samples/s through a 3-node NATS JetStream
cluster (replicas 3) and the CPU per sample it costs nats-server and
lstmad, at 1 and 100 (and any other) samples per message, for both ways in:
producers publishing to NATS directly, and lines sent over TCP to an
instance's listener (its forwarder publishes them, nats.batch_max_samples).

For each way in and each samples-per-message figure: a fresh NATS cluster,
--instances lstmad instances with nats.streams --nstreams over --partitions
partitions (balanced before the clock starts), then --streams streams x
--samples samples go in, and the clock runs until lstmad_windows_scored_total
summed over the instances reaches streams x (samples - T + 1). CPU is read
from /proc/<pid>/stat of every nats-server and lstmad process over the same
interval; the servers' idle CPU rate (measured for --idle seconds first) is
also subtracted, for a second figure. The leaders of the partition streams (from the monitoring
endpoint, /jsz with stream details) are printed for each cluster.

Direct publishing at 1 sample per message goes through the servers'
partition mapping (<prefix>.in.<measurement>.<token>), one acknowledged
round of every stream at a time; at b > 1 samples of a partition are cut
into batch messages of exactly b (docs/cluster.md, "Batch messages"), the
k-th message of every partition published together (pipelined) after the
(k-1)-th are stored, so no partition's order depends on a retry.

    bench/cluster_batch_bench.py [--streams 1000] [--samples 150] [--per-message 1,100]
        [--ways direct,tcp] [--instances 1] [--partitions 6] [--nstreams 3]
Everything runs on this machine: with few cores the figures are the
machine's (nats-server, lstmad and the publisher share them); the CPU per
sample is the portable number.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("LSTMAD_BIN", os.path.join(HERE, "..", "build", "release", "tools", "lstmad"))

from cluster_support import (batch_message, cluster_config, publish_rounds, sample_message, scored,  # noqa: E402
                             stream_leaders, subject_partition, wait_balanced)
from daemon_harness import Daemon, train_pump_model  # noqa: E402
from lstmad_cli import tempdir  # noqa: E402
from nats_harness import NatsClient, NatsCluster  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def publish_direct_batched(client, args, per_message):
    """Every stream's samples, cut per partition into messages of
    `per_message` samples in stream order."""
    lines = {}
    for i in range(args.samples):
        for j in range(args.streams):
            subject, payload, _ = sample_message(j, i)
            _, _, measurement, token = subject.split(".", 3)
            lines.setdefault(subject_partition(measurement, token, args.partitions), []).append(payload.decode())
    messages = {p: [batch_message(p, ls[k:k + per_message], f"p{p}-{k}") for k in range(0, len(ls), per_message)]
                for p, ls in lines.items()}
    for k in range(max(len(m) for m in messages.values())):
        client.js_publish_all([m[k] for m in messages.values() if k < len(m)])
    return sum(len(m) for m in messages.values())


def tcp_text(args):
    out = []
    for i in range(args.samples):
        for j in range(args.streams):
            out.append(sample_message(j, i)[1].decode())
    return ("\n".join(out) + "\n").encode()


def run(way, per_message, args, model, lookback):
    with tempdir() as d, NatsCluster(args.partitions) as nats:
        extra = f"  streams: {args.nstreams}\n  batch_max_samples: {per_message if way == 'tcp' else 1}\n"
        instances = [Daemon(cluster_config(os.path.join(d, f"lstmad-{i}.yaml"), model, nats, f"i{i}",
                                           args.partitions, extra=extra))
                     for i in range(args.instances)]
        try:
            wait_balanced(instances, args.partitions)
            leaders = stream_leaders(nats.http_ports[0])
            placement = {k: v for k, v in sorted(leaders.items()) if not k.startswith("KV_")}
            payload = tcp_text(args) if way == "tcp" else None
            # What the servers spend with no samples flowing (Raft heartbeats,
            # lease renewals, the instances' fetch polls): subtracted below so
            # that short runs are not dominated by it.
            idle0 = sum(cpu_seconds(p.pid) for p in nats.procs)
            time.sleep(args.idle)
            idle_rate = (sum(cpu_seconds(p.pid) for p in nats.procs) - idle0) / args.idle
            expected = args.streams * (args.samples - lookback + 1)
            nats0 = sum(cpu_seconds(p.pid) for p in nats.procs)
            lstmad0 = sum(cpu_seconds(x.proc.pid) for x in instances)
            start = time.time()
            messages = args.streams * args.samples
            if way == "tcp":
                instances[0].send(payload)
            else:
                with NatsClient(nats.client_ports[0]) as client:
                    if per_message == 1:
                        publish_rounds(client, args.streams, 0, args.samples)
                    else:
                        messages = publish_direct_batched(client, args, per_message)
            published = time.time() - start
            while scored(instances) < expected:
                if time.time() - start > args.timeout:
                    raise SystemExit(f"{way} x{per_message}: only {scored(instances)} of {expected} windows")
                time.sleep(0.02)
            wall = time.time() - start
            ncpu = sum(cpu_seconds(p.pid) for p in nats.procs) - nats0
            lcpu = sum(cpu_seconds(x.proc.pid) for x in instances) - lstmad0
        finally:
            for x in instances:
                x.stop()
    samples = args.streams * args.samples
    if way == "tcp":
        messages = None  # the forwarder's batching decides; see its per-sample CPU
    row = dict(way=way, per_message=per_message, samples=samples, messages=messages, wall=wall,
               published=published, rate=samples / wall, nats_us=1e6 * ncpu / samples,
               nats_net_us=1e6 * max(0.0, ncpu - idle_rate * wall) / samples, idle=idle_rate,
               lstmad_us=1e6 * lcpu / samples, leaders=placement)
    print(f"{way:6s} {per_message:4d}/msg: {row['rate']:9.0f} samples/s ({samples} in {wall:.2f}s, "
          f"in {published:.2f}s{'' if messages is None else f', {messages} messages'}); nats-server "
          f"{row['nats_us']:6.2f} us CPU/sample ({row['nats_net_us']:6.2f} over its idle {idle_rate:.2f} CPU-s/s), "
          f"lstmad {row['lstmad_us']:6.2f} us CPU/sample; "
          f"leaders {placement}", flush=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=150)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--nstreams", type=int, default=3)
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--per-message", default="1,100")
    ap.add_argument("--ways", default="direct,tcp")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--idle", type=float, default=2.0, help="seconds of idle nats-server CPU measured first")
    args = ap.parse_args()
    with tempdir() as d:
        lookback = 10
        model = train_pump_model(d, lookback=lookback, epochs=2, samples=600)
        print(f"model: pump T={lookback} F=4 enc 32,16 dec 16,32; {os.cpu_count()} CPUs; {args.instances} "
              f"instance(s), {args.partitions} partitions over {args.nstreams} streams, replicas 3", flush=True)
        rows = [run(way, int(b), args, model, lookback)
                for way in args.ways.split(",") for b in args.per_message.split(",")]
    for way in args.ways.split(","):
        mine = {r["per_message"]: r for r in rows if r["way"] == way}
        low, high = min(mine), max(mine)
        if low != high:
            print(f"{way}: nats-server CPU per sample {mine[low]['nats_us'] / mine[high]['nats_us']:.1f}x lower "
                  f"at {high}/msg than at {low}/msg ({mine[low]['nats_net_us'] / max(mine[high]['nats_net_us'], 1e-9):.1f}x "
                  f"over idle); samples/s {mine[high]['rate'] / mine[low]['rate']:.1f}x", flush=True)


if __name__ == "__main__":
    main()
