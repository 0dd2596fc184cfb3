"""Prometheus remote_write in (issue 15): a real Prometheus (Debian's)
scrapes a real prometheus-node-exporter (loadavg, meminfo and cpu
collectors only), evaluates two recording rules per instance (the memory
available ratio, and the number of CPUs plus a step of 50 at a known time:
the injected anomaly) and remote-writes them to lstmad, which scores a
model over those two features. The per-stream series carry the `instance`
label; the alert fires after the step, with the `instance` label. Bad
input on the same endpoint meanwhile: a corrupt snappy body (400), a body
that is no WriteRequest (400), an uncompressed size over the limit (413), a
body over max_body_bytes (413), NaN and stale samples (204, counted by
reason), each counted, while Prometheus' stream goes on being scored. Then, on a
daemon without remote_write: 404; a reload naming an unknown feature fails
saying so; a valid one turns the endpoint on."""
import os
import random
import re
import signal
import socket
import subprocess
import time
import urllib.request

from daemon_harness import Daemon, parse_metrics, total
from lstmad_cli import Checks, run, tempdir, train_fixture
from remote_write_support import STALE_NAN, post, snappy_literal, varint, write_request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def node_features(text):
    """(memory available ratio, idle CPUs) from node-exporter's exposition."""
    avail = float(re.search(r"^node_memory_MemAvailable_bytes (\S+)$", text, re.M).group(1))
    total_b = float(re.search(r"^node_memory_MemTotal_bytes (\S+)$", text, re.M).group(1))
    cpus = len(re.findall(r'^node_cpu_seconds_total\{cpu="[^"]+",mode="idle"\}', text, re.M))
    return avail / total_b, cpus


def main():
    checks = Checks()
    with tempdir() as d:
        procs = []
        try:
            ne_port = free_port()
            procs.append(subprocess.Popen(
                ["/usr/bin/prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{ne_port}",
                 "--collector.disable-defaults", "--collector.loadavg", "--collector.meminfo", "--collector.cpu"],
                stdout=open(os.path.join(d, "node-exporter.log"), "w"), stderr=subprocess.STDOUT))
            ratio, cpus = node_features(wait_http(f"http://127.0.0.1:{ne_port}/metrics"))
            # A model of this machine: the ratio with room to drift while
            # the test runs, the CPU count with a little noise.
            rng = random.Random(11)
            csv = os.path.join(d, "node.csv")
            with open(csv, "w") as f:
                f.write("mem_avail,cpus\n")
                for _ in range(1500):
                    f.write(f"{ratio + rng.gauss(0, 0.05):.6f},{cpus + rng.gauss(0, 0.1):.6f}\n")
            model = os.path.join(d, "node.lstmad")
            train_fixture("--data", csv, "--lookback", 5, "--encoder", "8", "--decoder", "8", "--epochs", 4,
                          "--threshold", "mean+8std", "--seed", 3, "--out", model)

            config = os.path.join(d, "lstmad.yaml")
            with open(config, "w") as f:
                f.write(f"""ingest: {{ listen: 127.0.0.1:0, precision: ms }}
metrics: {{ listen: 127.0.0.1:0 }}
remote_write: {{ max_body_bytes: 65536, max_uncompressed_bytes: 65536 }}
models:
  - name: node
    path: {model}
    measurement: node
    alert: {{ for: 2, clear: 2 }}
    detector: {{ threshold: fixed, anomaly_score: false }}
    remote_write:
      features: {{ mem_avail: 'instance:mem_avail:ratio', cpus: 'instance:cpus:count{{probe="lstmad"}}' }}
      stream_labels: [instance]
""")
            with Daemon(config) as daemon:
                port = daemon.metrics_port
                rules = os.path.join(d, "rules.yml")

                def write_rules(step_at):
                    with open(rules, "w") as f:
                        f.write(f"""groups:
  - name: node
    interval: 1s
    rules:
      - record: instance:mem_avail:ratio
        expr: node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes
      - record: instance:cpus:count
        expr: count by (instance, job) (node_cpu_seconds_total{{mode="idle"}}) + 50 * (time() > bool {step_at})
        labels: {{ probe: lstmad }}
""")
                # The step is set (and the rules reloaded) only once the normal
                # traffic has been scored a while: a fixed time from here was
                # missed when Prometheus and lstmad were slow to start.
                write_rules(int(time.time()) + 24 * 3600)
                prom_config = os.path.join(d, "prometheus.yml")
                with open(prom_config, "w") as f:
                    f.write(f"""global: {{ scrape_interval: 1s, evaluation_interval: 1s }}
rule_files: [{rules}]
scrape_configs:
  - job_name: node
    static_configs: [{{ targets: ['127.0.0.1:{ne_port}'] }}]
remote_write:
  - url: http://127.0.0.1:{port}/api/v1/write
    queue_config: {{ batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }}
    write_relabel_configs:
      - {{ source_labels: [__name__], regex: 'instance:.*', action: keep }}
""")
                prom_port = free_port()
                prometheus = subprocess.Popen(
                    ["/usr/bin/prometheus", f"--config.file={prom_config}",
                     f"--storage.tsdb.path={os.path.join(d, 'tsdb')}", f"--web.listen-address=127.0.0.1:{prom_port}",
                     "--log.level=warn"],
                    stdout=open(os.path.join(d, "prometheus.log"), "w"), stderr=subprocess.STDOUT)
                procs.append(prometheus)
                instance = f"127.0.0.1:{ne_port}"

                # Bad input while Prometheus writes.
                now_ms = int(time.time() * 1000)
                status, text = post(port, b"\xff\xff\xff\xff\xff\xff\xff")
                checks.check("a corrupt snappy body: 400", status == 400 and "snappy" in text, f"{status} {text}")
                status, text = post(port, snappy_literal(b"\x0a\x05"))
                checks.check("a body that is no WriteRequest: 400", status == 400 and "WriteRequest" in text,
                             f"{status} {text}")
                status, text = post(port, varint(100000) + b"\x00" * 10)
                checks.check("an uncompressed size over the limit: 413", status == 413 and "65536" in text,
                             f"{status} {text}")
                status, text = post(port, b"\x00" * 70000)
                checks.check("a body over max_body_bytes: 413", status == 413, f"{status} {text}")
                status, text = post(port, b"", {"Content-Encoding": "zstd"})
                checks.check("another content encoding: 415", status == 415, f"{status} {text}")
                hand = {"instance": "hand:1", "probe": "lstmad"}
                status, text = post(port, snappy_literal(write_request([
                    ({"__name__": "instance:mem_avail:ratio", **hand}, [(float("nan"), now_ms), (STALE_NAN, now_ms + 1)]),
                    ({"__name__": "instance:cpus:count", **hand}, [(float(cpus), now_ms)]),
                    ({"__name__": "not_selected", **hand}, [(1.0, now_ms)])])))
                checks.check("NaN and stale samples: 204", status == 204, f"{status} {text}")
                m = parse_metrics(daemon.scrape_text())
                for code, reason in (("400", "snappy"), ("400", "protobuf"), ("413", "too_large"),
                                     ("415", "content_encoding")):
                    checks.check(f"request counted: {code} {reason}",
                                 total(m, "lstmad_remote_write_requests_total", code=code, reason=reason) == 1,
                                 str(total(m, "lstmad_remote_write_requests_total", code=code, reason=reason)))
                for reason in ("nan", "stale", "unselected"):
                    checks.check(f"sample counted: {reason}",
                                 total(m, "lstmad_remote_write_samples_total", outcome="dropped", reason=reason) == 1)
                checks.check("the lone cpus sample waits for its vector",
                             total(m, "lstmad_remote_write_pending_samples") >= 1)

                # Prometheus' stream: scored, labelled with instance, and the step alerts.
                def stream_value(name):
                    m = parse_metrics(daemon.scrape_text())
                    return total(m, name, model="node", instance=instance), m

                deadline = time.time() + 60
                scored = 0
                while time.time() < deadline and scored == 0:
                    scored, _ = stream_value("lstmad_stream_reconstruction_error")
                    scored = 1 if any(k.startswith("lstmad_stream_reconstruction_error{") and
                                      f'instance="{instance}"' in k for k in _) else 0
                    time.sleep(0.5)
                checks.check("the node's stream is scored, labelled with its instance", scored == 1)
                # Normal traffic for a while (about 10 s: a window a second) raises no alert.
                normal = 10
                ok, m = daemon.poll(lambda m: total(m, "lstmad_windows_scored_total", model="node") >= normal,
                                    timeout=60)
                before = total(m, "lstmad_stream_anomalies_total", instance=instance)
                checks.check("no alert before the step", ok and before == 0,
                             f"{total(m, 'lstmad_windows_scored_total', model='node'):.0f} windows, "
                             f"anomalies {before}")
                step_at = int(time.time()) + 2
                write_rules(step_at)
                prometheus.send_signal(signal.SIGHUP)  # Prometheus reloads its rule files
                fired = False
                deadline = step_at + 45
                while time.time() < deadline and not fired:
                    fired = total(parse_metrics(daemon.scrape_text()), "lstmad_stream_anomalous",
                                  model="node", instance=instance) == 1
                    time.sleep(0.5)
                checks.check("the step fires the instance's alert", fired)
                alert = daemon.wait_for_log("alert fired", timeout=10)
                checks.check("the alert is logged for the instance's stream",
                             f'model=node stream="node,instance={instance}" ' in alert and "top_features=cpus:" in alert, alert)
                m = parse_metrics(daemon.scrape_text())
                accepted = total(m, "lstmad_remote_write_samples_total", outcome="accepted")
                checks.check("Prometheus' samples were accepted in vectors of two", accepted >= 20 and accepted % 2 == 0,
                             str(accepted))
                checks.check("no line of theirs was refused", total(m, "lstmad_samples_rejected_total") == 0,
                             str({k: v for k, v in m.items() if k.startswith("lstmad_samples_rejected_total")}))
                checks.check("Prometheus' requests were all stored",
                             total(m, "lstmad_remote_write_requests_total", code="204") >= 5 and
                             total(m, "lstmad_remote_write_requests_total", code="503") == 0)

            # Without a model that reads remote_write the endpoint is off:
            # 404, and none of its families is exported.
            plain = os.path.join(d, "plain.yaml")
            with open(plain, "w") as f:
                f.write(f"metrics: {{ listen: 127.0.0.1:0 }}\ningest: {{ listen: 127.0.0.1:0 }}\n"
                        f"models: [{{ name: node, path: {model}, measurement: node }}]\n")
            with Daemon(plain) as daemon:
                status, text = post(daemon.metrics_port, snappy_literal(write_request([])))
                checks.check("no model reads remote_write: 404", status == 404 and "models[].remote_write" in text,
                             f"{status} {text}")
                checks.check("and no remote_write family is exported",
                             "lstmad_remote_write" not in daemon.scrape_text())
                # A reload with a selection that names no feature of the model
                # fails, naming it; a valid one turns the endpoint on.
                base = (f"metrics: {{ listen: 127.0.0.1:0 }}\ningest: {{ listen: 127.0.0.1:0 }}\n"
                        f"models: [{{ name: node, path: {model}, measurement: node, remote_write: ")
                with open(plain, "w") as f:
                    f.write(base + "{ features: { mem_avail: a, nope: b } } }]\n")
                daemon.signal(signal.SIGHUP)
                failed = daemon.wait_for_log("configuration reload failed", timeout=30)
                checks.check("a reload naming an unknown feature fails, saying which",
                             'models[node].remote_write.features: \\"nope\\" is not a feature of model node'
                             in failed, failed)
                with open(plain, "w") as f:
                    f.write(base + "{ features: { mem_avail: a, cpus: b } } }]\n")
                start = len(daemon.logs())
                daemon.signal(signal.SIGHUP)
                daemon.wait_for_log("configuration reloaded", timeout=30, start=start)
                status, text = post(daemon.metrics_port, snappy_literal(write_request([
                    ({"__name__": "a", "instance": "r"}, [(0.5, 1000)]), ({"__name__": "b", "instance": "r"}, [(2.0, 1000)])])))
                m = parse_metrics(daemon.scrape_text())
                checks.check("after a valid reload remote_write is on", status == 204 and
                             total(m, "lstmad_remote_write_samples_total", outcome="accepted") == 2 and
                             total(m, "lstmad_samples_received_total", model="node") == 1, f"{status} {text}")
        finally:
            for p in reversed(procs):
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
    checks.finish()


if __name__ == "__main__":
    main()
