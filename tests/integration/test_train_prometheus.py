"""`lstmad train --prometheus` (issue 15): a real Prometheus (Debian's),
backfilled with a known series through `promtool tsdb create-blocks-from
openmetrics` and behind basic auth, is read through /api/v1/query_range, one
--query per feature; the model equals the one `train --data` makes from the
same values exported to CSV (same seed): `lstmad score` gives the same
output for both. A query with two series, a PromQL error, a range without
data and missing credentials are refused with exit 2 and a message that
says why."""
import base64
import crypt
import math
import os
import random
import socket
import subprocess
import time
import urllib.request

from lstmad_cli import BIN, Checks, tempdir

STEP = 60
ROWS = 600
PASSWORD = "s3cret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lstmad(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=300)


def write_series(d, t0):
    """Two pumps' temperature and flow; returns (openmetrics path, csv path of pump p1)."""
    rng = random.Random(5)
    rows = {p: [] for p in ("p1", "p2")}
    for i in range(ROWS):
        for p in rows:
            phase = 0.0 if p == "p1" else 1.0
            rows[p].append((t0 + i * STEP, round(60 + 5 * math.sin(i / 20 + phase) + rng.gauss(0, 0.3), 6),
                            round(120 + 8 * math.cos(i / 15 + phase) + rng.gauss(0, 0.5), 6)))
    om = os.path.join(d, "series.om")
    with open(om, "w") as f:
        for metric, col in (("pump_temperature", 1), ("pump_flow", 2)):
            f.write(f"# TYPE {metric} gauge\n")
            for p, values in rows.items():
                for r in values:
                    f.write(f'{metric}{{pump="{p}"}} {r[col]} {r[0]}\n')
        f.write("# EOF\n")
    csv = os.path.join(d, "p1.csv")
    with open(csv, "w") as f:
        f.write("timestamp,temperature,flow\n")
        for r in rows["p1"]:
            f.write(f"{r[0]},{r[1]},{r[2]}\n")
    return om, csv


def start_prometheus(d, tsdb):
    port = free_port()
    config = os.path.join(d, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global: {}\n")
    web = os.path.join(d, "web.yml")
    with open(web, "w") as f:
        f.write(f"basic_auth_users:\n  lstmad: '{crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH))}'\n")
    log = open(os.path.join(d, "prometheus.log"), "w")
    proc = subprocess.Popen(["/usr/bin/prometheus", f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
                             "--storage.tsdb.retention.time=100y", f"--web.config.file={web}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=log, stderr=subprocess.STDOUT)
    wait_ready(proc, port)
    return proc, port


def wait_ready(proc, port, timeout=60):
    """Until Prometheus (behind basic auth, user lstmad) says it is ready. A
    401 is no answer: the web server asks for credentials before the
    storage is open, and answers 503 to queries until then."""
    deadline = time.time() + timeout
    request = urllib.request.Request(f"http://127.0.0.1:{port}/-/ready", headers={
        "Authorization": "Basic " + base64.b64encode(f"lstmad:{PASSWORD}".encode()).decode()})
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(request, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:  # HTTPError (503 while starting) included
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("prometheus did not start")


def main():
    checks = Checks()
    with tempdir() as d:
        t0 = (int(time.time()) // 3600 - 72) * 3600  # three days ago: whole blocks, nothing in the head
        om, csv = write_series(d, t0)
        tsdb = os.path.join(d, "tsdb")
        backfill = subprocess.run(["/usr/bin/promtool", "tsdb", "create-blocks-from", "openmetrics", om, tsdb],
                                  capture_output=True, text=True, timeout=120)
        checks.check("promtool backfills the series", backfill.returncode == 0, backfill.stderr[-500:])
        proc, port = start_prometheus(d, tsdb)
        try:
            password = os.path.join(d, "password")
            with open(password, "w") as f:
                f.write(PASSWORD + "\n")
            common = ["--lookback", 10, "--encoder", "8", "--decoder", "8", "--epochs", 2, "--seed", 3]
            source = ["--prometheus", f"http://127.0.0.1:{port}", "--start", t0, "--end", t0 + (ROWS - 1) * STEP,
                      "--step", f"{STEP}s", "--prometheus-user", "lstmad", "--prometheus-password-file", password]
            queries = ["--query", 'temperature=pump_temperature{pump="p1"}', "--query", 'flow=pump_flow{pump="p1"}']
            from_csv = lstmad("train", "--data", csv, *common, "--out", os.path.join(d, "csv.lstmad"))
            from_prom = lstmad("train", *source, *queries, *common, "--out", os.path.join(d, "prom.lstmad"))
            checks.check("train --data", from_csv.returncode == 0, from_csv.stderr[-500:])
            checks.check("train --prometheus", from_prom.returncode == 0, from_prom.stderr[-800:])
            checks.check("both trained on the same windows",
                         f"training on {ROWS - 10 + 1} windows of 10 x 2 from prometheus http://127.0.0.1:{port}"
                         in from_prom.stderr and f"training on {ROWS - 10 + 1} windows of 10 x 2 from {csv}"
                         in from_csv.stderr, from_prom.stderr[:600])
            scores = [lstmad("score", "--model", os.path.join(d, m), "--data", csv).stdout
                      for m in ("csv.lstmad", "prom.lstmad")]
            checks.check("the two models score the series identically", scores[0] == scores[1] and
                         len(scores[0].splitlines()) == ROWS - 10 + 2, f"{scores[0][:300]} vs {scores[1][:300]}")
            # Where Prometheus cannot give one stream, or at all, train says why.
            two = lstmad("train", *source, "--query", "temperature=pump_temperature", *common,
                         "--out", os.path.join(d, "x.lstmad"))
            checks.check("a query with two series is refused, naming them", two.returncode == 2 and
                         'gives 2 series ({__name__="pump_temperature",pump="p1"}, '
                         '{__name__="pump_temperature",pump="p2"})' in two.stderr, two.stderr)
            bad = lstmad("train", *source, "--query", "temperature=rate(", *common, "--out", os.path.join(d, "x.lstmad"))
            checks.check("a PromQL error is shown as Prometheus gives it", bad.returncode == 2 and
                         "answered 400" in bad.stderr and "parse error" in bad.stderr, bad.stderr)
            empty = lstmad("train", *source, "--query", "temperature=nothing_here", *common,
                           "--out", os.path.join(d, "x.lstmad"))
            checks.check("a query without data is refused", empty.returncode == 2 and
                         "gives no series" in empty.stderr, empty.stderr)
            anonymous = lstmad("train", *source[:8], *queries, *common, "--out", os.path.join(d, "x.lstmad"))
            checks.check("without credentials Prometheus' 401 is reported", anonymous.returncode == 2 and
                         "answered 401" in anonymous.stderr, anonymous.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    checks.finish()


if __name__ == "__main__":
    main()
