"""deploy/alertmanager: `amtool check-config` accepts the example; every
alert of deploy/prometheus/lstmad-rules.yml is routed to the receiver meant
for it (`amtool config routes test --verify.receivers`); and a real
Alertmanager running the example (webhook URLs pointed at this test) applies
its inhibitions and delivers anomalies and pages to the right receivers.
"""
import datetime
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.request

import yaml

from deploy_support import DEPLOY, Checks, free_port, run_tool, tempdir, tool

CONFIG = os.path.join(DEPLOY, "alertmanager", "alertmanager.yml")
RULES = os.path.join(DEPLOY, "prometheus", "lstmad-rules.yml")

# Alert -> receiver. Anomalies go to the equipment's owners, the daemon's own
# problems to operations, critical ones to the pager.
EXPECTED = {
    "LstmadStreamAnomalous": "lstmad-anomalies",
    "LstmadChangeAccepted": "lstmad-anomalies",
    "LstmadDown": "lstmad-pager",
    "LstmadTargetMissing": "lstmad-pager",
    "LstmadModelNoSamples": "lstmad-operations",
    "LstmadSamplesRejected": "lstmad-operations",
    "LstmadStreamLimitReached": "lstmad-operations",
    "LstmadConfigReloadFailed": "lstmad-operations",
    "LstmadRetrainingFailed": "lstmad-operations",
    "LstmadSnapshotsFailing": "lstmad-operations",
    "LstmadEventWriteFailures": "lstmad-operations",
    "LstmadScoringSlow": "lstmad-operations",
}


def route(amtool, labels, receiver):
    args = [amtool, "config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={receiver}"]
    proc = run_tool(args + [f"{k}={v}" for k, v in labels.items()])
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip().splitlines()[0]


def main():
    checks = Checks()
    amtool = tool("amtool")
    proc = run_tool([amtool, "check-config", CONFIG])
    print((proc.stdout + proc.stderr).strip(), flush=True)
    checks.check("amtool check-config", proc.returncode == 0, f"exit {proc.returncode}")

    with open(RULES) as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r]
    checks.check("every alert of the rules has an expected receiver here",
                 {r["alert"] for r in rules} == set(EXPECTED), f"{sorted(r['alert'] for r in rules)}")
    for rule in rules:
        name = rule["alert"]
        labels = {"alertname": name, "severity": rule["labels"]["severity"], "instance": "h1:9108",
                  "job": "lstmad"}
        if name == "LstmadStreamAnomalous":
            labels.update(model="pump", stream="pump,id=3")
        ok, out = route(amtool, labels, EXPECTED.get(name, "?"))
        checks.check(f"{name} goes to {EXPECTED.get(name)}", ok, out)

    # Anomaly alerts that lstmad may send to Alertmanager itself carry `stream` too.
    ok, out = route(amtool, {"alertname": "LstmadAnomaly", "model": "pump", "stream": "pump,id=3"},
                    "lstmad-anomalies")
    checks.check("any lstmad alert with a stream label goes to lstmad-anomalies", ok, out)
    ok, out = route(amtool, {"alertname": "NodeDown", "severity": "critical"}, "default")
    checks.check("other alerts keep the default receiver", ok, out)
    ok, _ = route(amtool, {"alertname": "LstmadDown", "severity": "critical"}, "lstmad-operations")
    checks.check("a wrong expectation is noticed (control)", not ok)
    with tempdir() as d:
        live(checks, d)
    checks.finish()


class Webhooks(http.server.ThreadingHTTPServer):
    """Records the alert names each webhook path receives."""

    def __init__(self):
        self.received = {}
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.received.setdefault(self.path, []).extend(
                        (a["labels"]["alertname"], a["labels"].get("instance", "")) for a in body["alerts"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def got(self, path):
        with self.lock:
            return list(self.received.get(path, []))


def alert(**labels):
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"labels": labels, "annotations": {"summary": "test"},
            "startsAt": now.isoformat(), "endsAt": (now + datetime.timedelta(hours=1)).isoformat()}


# (alert, suppressed?) posted to the live Alertmanager.
LIVE = [
    # lstmad's own anomaly alert (no instance) mutes the rule's copy (instance).
    (alert(alertname="LstmadStreamAnomalous", model="pump", stream="pump,id=3", severity="warning"), False),
    (alert(alertname="LstmadStreamAnomalous", model="pump", stream="pump,id=3", severity="warning",
           instance="h1:9108", job="lstmad"), True),
    (alert(alertname="LstmadStreamAnomalous", model="pump", stream="pump,id=4", severity="warning",
           instance="h1:9108", job="lstmad"), False),
    # A daemon that is down mutes its other alerts, not another daemon's.
    (alert(alertname="LstmadDown", severity="critical", instance="h2:9108", job="lstmad"), False),
    (alert(alertname="LstmadModelNoSamples", severity="warning", instance="h2:9108", job="lstmad", model="pump"), True),
    (alert(alertname="LstmadModelNoSamples", severity="warning", instance="h1:9108", job="lstmad", model="pump"), False),
    # The stream limit alert mutes the too_many_streams rejections.
    (alert(alertname="LstmadStreamLimitReached", severity="warning", instance="h1:9108", job="lstmad",
           reason="too_many_streams"), False),
    (alert(alertname="LstmadSamplesRejected", severity="warning", instance="h1:9108", job="lstmad",
           reason="too_many_streams"), True),
    (alert(alertname="LstmadSamplesRejected", severity="warning", instance="h1:9108", job="lstmad",
           reason="parse_error"), False),
]


def live(checks, d):
    hooks = Webhooks()
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    with open(CONFIG) as f:
        text = f.read().replace("http://127.0.0.1:5001/", f"http://127.0.0.1:{hooks.server_address[1]}/")
    config = os.path.join(d, "alertmanager.yml")
    with open(config, "w") as f:
        f.write(text)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(os.path.join(d, "alertmanager.log"), "w")
    proc = subprocess.Popen([tool("prometheus-alertmanager"), f"--config.file={config}",
                             f"--storage.path={os.path.join(d, 'data')}", f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address=", "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(url, proc)
        request = urllib.request.Request(url + "/api/v2/alerts", data=json.dumps([a for a, _ in LIVE]).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=10).read()

        def statuses():
            with urllib.request.urlopen(url + "/api/v2/alerts", timeout=10) as r:
                state = {json.dumps(a["labels"], sort_keys=True): a["status"] for a in json.load(r)}
            return [state.get(json.dumps(posted["labels"], sort_keys=True), {}) for posted, _ in LIVE]

        # Alertmanager's inhibitor learns the source alerts in a goroutine of
        # its own, after the POST has returned: until it has, the API shows
        # the targets active (seen once in CI). Wait for the expected state,
        # a bounded while, then check what is there.
        deadline = time.time() + 10
        status = statuses()
        while time.time() < deadline and any(bool(st.get("inhibitedBy")) != suppressed
                                             for st, (_, suppressed) in zip(status, LIVE)):
            time.sleep(0.2)
            status = statuses()
        for st, (posted, suppressed) in zip(status, LIVE):
            muted = bool(st.get("inhibitedBy"))
            name = ", ".join(f"{k}={v}" for k, v in posted["labels"].items() if k not in ("severity", "job"))
            checks.check(f"{'inhibited' if suppressed else 'active'}: {name}", muted == suppressed,
                         f"{st}")
        # group_wait is 10 s on the anomaly and pager routes.
        deadline = time.time() + 40
        while time.time() < deadline and not (len(hooks.got("/alerts/anomalies")) >= 2
                                              and hooks.got("/alerts/lstmad-pager")):
            time.sleep(0.25)
        anomalies = hooks.got("/alerts/anomalies")
        checks.check("lstmad-anomalies receives the anomalies, without the muted copy",
                     sorted(anomalies) == [("LstmadStreamAnomalous", ""), ("LstmadStreamAnomalous", "h1:9108")],
                     f"{anomalies}")
        checks.check("lstmad-pager receives LstmadDown", hooks.got("/alerts/lstmad-pager") == [("LstmadDown", "h2:9108")],
                     f"{hooks.got('/alerts/lstmad-pager')}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        hooks.shutdown()
        log.close()


def wait_ready(url, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"alertmanager exited {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"alertmanager not ready within {timeout}s")


if __name__ == "__main__":
    main()
