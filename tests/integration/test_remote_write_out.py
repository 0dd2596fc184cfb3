"""remote_write_out (issue 15, results written back): the daemon writes its
per-stream series, the export series (models[].export) included, to a real
Prometheus (Debian's) started with --web.enable-remote-write-receiver behind
basic auth; once scoring has stopped, every per-stream series /metrics shows
is found in Prometheus through PromQL (/api/v1/query) with the value /metrics
shows (the same digits: /metrics prints 16 significant ones), labelled alike (the stream's tags as labels). The scrape,
export series included, passes `promtool check metrics`.

Then against a tiny receiver that answers 503, 503, 400 and then 204: the
5xx are retried, the 400 drops its batch, each counted, and delivery goes
on; a reload that changes remote_write_out says it applies on restart."""
import crypt
import http.server
import json
import os
import random
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import base64

from daemon_harness import Daemon, line, pump_values, train_pump_model, write_config
from lstmad_cli import Checks, tempdir
from test_train_prometheus import PASSWORD, free_port, wait_ready

LOOKBACK = 10
SAMPLES = 40
PUMPS = {"p1": "north", "p2": "south"}


def start_receiver_prometheus(d):
    port = free_port()
    config = os.path.join(d, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global: {}\n")
    web = os.path.join(d, "web.yml")
    with open(web, "w") as f:
        f.write(f"basic_auth_users:\n  lstmad: '{crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH))}'\n")
    log = open(os.path.join(d, "prometheus.log"), "w")
    proc = subprocess.Popen(["/usr/bin/prometheus", f"--config.file={config}",
                             f"--storage.tsdb.path={os.path.join(d, 'tsdb')}", f"--web.config.file={web}",
                             "--web.enable-remote-write-receiver", f"--web.listen-address=127.0.0.1:{port}",
                             "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
    wait_ready(proc, port)
    return proc, port


def promql(port, query):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={
        "Authorization": "Basic " + base64.b64encode(f"lstmad:{PASSWORD}".encode()).decode()})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.load(r)["data"]["result"]


def per_stream_series(text):
    """{(name, frozenset(labels)): value} of the lstmad_stream_* series in a scrape."""
    import re
    out = {}
    for row in text.splitlines():
        m = re.match(r'^(lstmad_stream_[a-z_]+)\{(.*)\}\s+(\S+)$', row)
        if m:
            labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2)))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def feed(daemon):
    rng = random.Random(4)
    text = ""
    for i in range(SAMPLES):
        for pump, site in PUMPS.items():
            text += line("pump", {"pump": pump, "site": site}, pump_values(i, 0.3, rng))
    daemon.send(text)
    expected = (SAMPLES - LOOKBACK + 1) * len(PUMPS)
    daemon.wait_for(lambda m: m.get('lstmad_windows_scored_total{model="pump"}', 0) >= expected,
                    what=f"{expected} windows scored")


class FlakyReceiver(http.server.BaseHTTPRequestHandler):
    answers = [503, 503, 400]
    bodies = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        FlakyReceiver.bodies.append((self.headers.get("Content-Encoding"), self.headers.get("Content-Type"), body))
        status = FlakyReceiver.answers.pop(0) if FlakyReceiver.answers else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=3, samples=1500)
        models = [{"name": "pump", "path": model, "measurement": "pump",
                   "export": "[observed, expected, band, error_share]"}]
        proc, port = start_receiver_prometheus(d)
        try:
            extra = (f"remote_write_out:\n  url: http://127.0.0.1:{port}/api/v1/write\n  interval: 1s\n"
                     f"  basic_auth: {{ username: lstmad, password: {PASSWORD} }}\n")
            with Daemon(write_config(os.path.join(d, "a.yaml"), models, extra=extra)) as daemon:
                feed(daemon)
                scrape = daemon.scrape_text()
                shown = per_stream_series(scrape)
                names = {name for name, _ in shown}
                checks.check("the export series are on /metrics", {
                    "lstmad_stream_feature_observed", "lstmad_stream_feature_expected",
                    "lstmad_stream_feature_expected_lower", "lstmad_stream_feature_expected_upper",
                    "lstmad_stream_feature_error_share"} <= names, str(sorted(names)))
                # 2 streams x (4 series + 4 features x 5 export series).
                checks.check("series per stream as documented", len(shown) == 2 * (4 + 4 * 5), str(len(shown)))
                lint = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=scrape,
                                      capture_output=True, text=True, timeout=60)
                checks.check("promtool check metrics is clean", lint.returncode == 0 and not lint.stdout.strip()
                             and not lint.stderr.strip(), lint.stdout + lint.stderr)
                # Samples taken after the scrape carry the same values (scoring has stopped).
                sent = 'lstmad_remote_write_out_samples_total{outcome="sent"}'
                before = daemon.value(sent[:sent.index("{")], outcome="sent")
                ok, _ = daemon.poll(lambda m: m.get(sent, 0) >= before + 2 * len(shown), timeout=30)
                checks.check("two more samplings written back", ok)

                def mismatches():
                    out = []
                    for (name, labels), value in sorted(shown.items()):
                        selector = name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels)) + "}"
                        result = promql(port, selector)
                        # /metrics prints 16 significant digits (prometheus-cpp); remote
                        # write carries the double itself: compare as /metrics prints it.
                        got = [(frozenset(r["metric"].items()), float(f'{float(r["value"][1]):.16g}'))
                               for r in result]
                        want = [(frozenset(labels | {("__name__", name)}), value)]
                        if got != want:
                            out.append((selector, value, result))
                    return out
                # A sampling taken before scoring stopped may still have been
                # in the queue when `before` was read: wait (bounded) until
                # Prometheus' newest samples are the settled values.
                deadline = time.time() + 30
                mismatched = mismatches()
                while mismatched and time.time() < deadline:
                    time.sleep(0.5)
                    mismatched = mismatches()
                checks.check("every series /metrics shows is in Prometheus with the same labels and value",
                             bool(not mismatched and shown), str(mismatched[:3]))
                site = promql(port, 'lstmad_stream_feature_expected{site="north",feature="flow"}')
                checks.check("the stream's tags are labels there", len(site) == 1 and
                             site[0]["metric"].get("pump") == "p1", str(site))
        finally:
            proc.terminate()
            proc.wait(timeout=30)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FlakyReceiver)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            extra = (f"remote_write_out:\n  url: http://127.0.0.1:{server.server_address[1]}/write\n"
                     "  interval: 1s\n")
            with Daemon(write_config(os.path.join(d, "b.yaml"), models, extra=extra)) as daemon:
                feed(daemon)
                ok, m = daemon.poll(lambda m: m.get('lstmad_remote_write_out_requests_total{result="success"}', 0)
                                    >= 1, timeout=60)
                m = {k: v for k, v in m.items() if "remote_write_out" in k}
                checks.check("delivery goes on after the refusals", ok, str(m))
                checks.check("each 5xx counted as retried",
                             m.get('lstmad_remote_write_out_requests_total{result="retried"}') == 2, str(m))
                checks.check("the 400 counted as rejected",
                             m.get('lstmad_remote_write_out_requests_total{result="rejected"}') == 1 and
                             m.get('lstmad_remote_write_out_samples_total{outcome="rejected"}', 0) > 0, str(m))
                checks.check("nothing was dropped from the queue",
                             m.get('lstmad_remote_write_out_samples_total{outcome="dropped"}') == 0, str(m))
                checks.check("remote write 1.0 headers", all(e == "snappy" and t == "application/x-protobuf"
                                                             for e, t, _ in FlakyReceiver.bodies),
                             str([(e, t) for e, t, _ in FlakyReceiver.bodies]))
                # The log line reaches the harness' reader a little after the counters move.
                checks.check("the refusal is logged", daemon.logged("the receiver refused a batch"),
                             str(daemon.logs()[-5:]))
                # A reload that changes the section keeps the running write-back, and says so.
                write_config(os.path.join(d, "b.yaml"), models, extra=extra.replace("interval: 1s", "interval: 2s"))
                daemon.signal(signal.SIGHUP)
                try:
                    daemon.wait_for_log("remote_write_out changes only on restart", 20)
                    warned = True
                except AssertionError:
                    warned = False
                checks.check("a reload that changes remote_write_out warns", warned, str(daemon.logs()[-3:]))
        finally:
            server.shutdown()
    checks.finish()


if __name__ == "__main__":
    main()
