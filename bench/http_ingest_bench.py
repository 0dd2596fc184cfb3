#!/usr/bin/python3
"""Samples/s into one daemon through each input, in one run: the TCP listener
(the reference), the InfluxDB write API (ingest.http) with batches of
--batch (5,000) lines per POST, plain and gzip, on one kept-alive connection,
MQTT through a real mosquitto broker (one message per sample, published by
mosquitto_pub over one connection) at QoS 0 and 1, and Graphite plaintext
(one line per feature: 4 lines per sample, assembled by the model's
`assembly` into feature vectors).

Besides samples/s (which for MQTT is bound by the Python publisher: lstmad
counts the last sample within a fraction of a second of its last
acknowledgement), the daemon's own CPU time per sample (user + system, all
threads, from /proc) compares what each input costs lstmad, whatever the
sender's speed.

Each case sends --streams x --samples lines of the pump model (features of
tests/integration's simulated pump, timestamps in seconds) to a fresh set of
streams and times from the first byte until lstmad_samples_received_total
and lstmad_windows_scored_total have counted all of them (so the figure
includes scoring: the daemon blocks its readers when the scoring queues are
full). Bodies are built (and gzipped) before the clock starts. The model is a
small LSTM autoencoder trained for one epoch: rates do not depend on weights.

Prints a table and writes JSON (--out). Needs the build's tools/lstmad
(LSTMAD_BIN or --bin). Loopback only; every wait is bounded.
"""
import argparse
import collections
import gzip
import http.client
import json
import os
import socket
import sys
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def cpu_seconds(pid):
    """The process' user + system CPU time (all threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "tools", "lstmad"))
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--samples", type=int, default=250)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--lookback", type=int, default=10)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    os.environ["LSTMAD_BIN"] = args.bin
    import daemon_harness as h  # after LSTMAD_BIN: lstmad_cli reads it on import
    from mqtt_broker import Broker, free_port

    results = {}
    with tempfile.TemporaryDirectory() as d:
        model = h.train_pump_model(d, lookback=args.lookback, epochs=1, samples=600, encoder="32,16",
                                   decoder="16,32")
        # Unbounded queues in the broker: its defaults (1,000 queued messages
        # per client) drop what a subscriber has not read yet, even at QoS 1.
        broker = Broker(d, free_port(), "max_queued_messages 0\nmax_inflight_messages 0\n")
        broker.start()
        # The same model twice: `pump` for whole lines, `gpump` assembling Graphite's one value per line.
        config = h.write_config(f"{d}/lstmad.yaml", [{"name": "pump", "path": model, "measurement": "pump",
                                                      "for": 1000000},
                                                     {"name": "gpump", "path": model, "measurement": "gpump",
                                                      "for": 1000000}],
                                ingest="http:\n  listen: 127.0.0.1:0\n  max_body_bytes: 67108864\n"
                                       "graphite:\n  listen: 127.0.0.1:0\n"
                                       "  templates: [\"gpump.* measurement.pump.field\"]",
                                extra="limits: { max_streams: 100000 }\n"
                                      f"mqtt:\n  broker: 127.0.0.1:{broker.port}\n  qos: 1\n"
                                      "  subscriptions: [{ topic: \"bench/+\" }]\n")
        with open(config) as f:
            text = f.read()
        with open(config, "w") as f:
            f.write(text.replace("    measurement: gpump\n",
                                 "    measurement: gpump\n    assembly: { tolerance: 0s, wait: 5s }\n"))
        with h.Daemon(config) as daemon:
            daemon.wait_for(lambda m: m.get("lstmad_mqtt_connected{}") == 1, timeout=30, what="MQTT connected")
            found = daemon.wait_for_log("Graphite listener")
            graphite_port = int(found.split("graphite=")[1].split()[0].rsplit(":", 1)[1])
            found = daemon.wait_for_log("serving the InfluxDB write API")
            http_port = int(found.split("listen=")[1].split()[0].rsplit(":", 1)[1])
            n = args.streams * args.samples
            windows = args.streams * (args.samples - args.lookback + 1)

            def body_lines(tag):
                return [h.line("pump", {"pump": f"{tag}{k}"}, h.pump_values(i, k * 0.1), ts=1767225600 + i)
                        for i in range(args.samples) for k in range(args.streams)]

            def wait_counted(before):
                target_r = before[0] + n
                target_w = before[1] + windows
                m = daemon.wait_for(lambda m: h.total(m, "lstmad_samples_received_total") >= target_r and
                                    h.total(m, "lstmad_windows_scored_total") >= target_w,
                                    timeout=600, what="every sample counted")
                return h.total(m, "lstmad_samples_received_total") - before[0]

            def counters():
                m = daemon.metrics()
                return (h.total(m, "lstmad_samples_received_total"), h.total(m, "lstmad_windows_scored_total"))

            def run_tcp():
                data = "".join(body_lines("t")).encode()
                before = counters()
                began = time.perf_counter()
                sock = daemon.connect()
                sock.sendall(data)
                sock.close()
                got = wait_counted(before)
                return got, time.perf_counter() - began, len(data)

            def run_mqtt(qos):
                # paho-mqtt (Debian's python3-paho-mqtt) publishes: mosquitto_pub -l
                # exits before its QoS 1 messages are all acknowledged.
                import paho.mqtt.client as mqtt
                lines = [x.rstrip("\n") for x in body_lines(f"q{qos}-")]
                client = mqtt.Client(client_id=f"bench-q{qos}", clean_session=True)
                client.max_inflight_messages_set(1000)
                client.max_queued_messages_set(0)
                client.connect("127.0.0.1", broker.port, keepalive=60)
                client.loop_start()
                before = counters()
                began = time.perf_counter()
                # At most 30,000 messages outstanding: paho's message ids wrap at 65,535.
                outstanding = collections.deque()
                for x in lines:
                    outstanding.append(client.publish(f"bench/q{qos}", x, qos=qos))
                    if len(outstanding) > 30000:
                        outstanding.popleft().wait_for_publish(timeout=600)
                for info in outstanding:
                    info.wait_for_publish(timeout=600)
                published = time.perf_counter() - began
                got = wait_counted(before)
                seconds = time.perf_counter() - began
                client.loop_stop()
                client.disconnect()
                print(f"mqtt qos {qos}: published in {published:.2f} s ({len(lines) / published:.0f}/s), "
                      f"all counted after {seconds:.2f} s", file=sys.stderr)
                return got, seconds, sum(len(x) for x in lines)

            def run_graphite():
                names = ["temperature", "pressure", "vibration", "flow"]
                data = "".join(f"gpump.g{k}.{f} {v:.6f} {1767225600 + i}\n"
                               for i in range(args.samples) for k in range(args.streams)
                               for f, v in zip(names, h.pump_values(i, k * 0.1))).encode()
                before = counters()
                began = time.perf_counter()
                sock = socket.create_connection(("127.0.0.1", graphite_port), timeout=10)
                sock.sendall(data)
                sock.close()
                # Received counts Graphite's lines (4 per sample); windows count the vectors.
                m = daemon.wait_for(lambda m: h.total(m, "lstmad_windows_scored_total") >= before[1] + windows,
                                    timeout=600, what="every Graphite vector scored")
                lines = h.total(m, "lstmad_samples_received_total") - before[0]
                return lines / len(names), time.perf_counter() - began, len(data)

            def run_http(packed):
                lines = body_lines("g" if packed else "h")
                bodies = ["".join(lines[i:i + args.batch]).encode() for i in range(0, len(lines), args.batch)]
                if packed:
                    bodies = [gzip.compress(b, 6) for b in bodies]
                headers = {"Content-Type": "text/plain"}
                if packed:
                    headers["Content-Encoding"] = "gzip"
                before = counters()
                began = time.perf_counter()
                conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=120)
                for b in bodies:
                    while True:
                        conn.request("POST", "/write?db=bench&precision=s", body=b, headers=headers)
                        r = conn.getresponse()
                        r.read()
                        if r.status == 204:
                            break
                        if r.status != 503:
                            raise SystemExit(f"POST answered {r.status}")
                        time.sleep(float(r.getheader("Retry-After", "1")) / 10)
                        if r.getheader("Connection", "").lower() == "close":
                            conn.close()
                            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=120)
                    if r.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=120)
                conn.close()
                got = wait_counted(before)
                return got, time.perf_counter() - began, sum(len(b) for b in bodies)

            for name, fn in (("tcp", run_tcp), ("http_batch", lambda: run_http(False)),
                             ("http_batch_gzip", lambda: run_http(True)), ("mqtt_qos0", lambda: run_mqtt(0)),
                             ("mqtt_qos1", lambda: run_mqtt(1)), ("graphite", run_graphite)):
                cpu_before = cpu_seconds(daemon.proc.pid)
                got, seconds, sent = fn()
                cpu = cpu_seconds(daemon.proc.pid) - cpu_before
                results[name] = {"samples": got, "seconds": round(seconds, 3),
                                 "samples_per_s": round(got / seconds), "bytes_sent": sent,
                                 "daemon_cpu_us_per_sample": round(cpu / got * 1e6, 2)}
        broker.kill()
    ref = results["tcp"]["samples_per_s"]
    ref_cpu = results["tcp"]["daemon_cpu_us_per_sample"]
    print(f"{'input':<18}{'samples':>10}{'seconds':>10}{'samples/s':>12}{'vs tcp':>9}{'lstmad CPU us/sample':>22}"
          f"{'vs tcp':>9}")
    for name, r in results.items():
        print(f"{name:<18}{r['samples']:>10.0f}{r['seconds']:>10.2f}{r['samples_per_s']:>12}"
              f"{r['samples_per_s'] / ref:>9.2f}{r['daemon_cpu_us_per_sample']:>22.2f}"
              f"{r['daemon_cpu_us_per_sample'] / ref_cpu:>9.2f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"streams": args.streams, "samples": args.samples, "batch": args.batch,
                       "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
