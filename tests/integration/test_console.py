"""The web console (docs/console.md) in a real browser: a daemon scoring the
demo's simulated pumps (`lstmad simulate`, a fault every 15 s), Debian's
headless chromium opening its pages. Checks: the overview lists every pump;
a faulty pump reaches the top of /api/v1/streams within a minute of its
fault, and then heads the overview's table; its page names the faulted
feature as the one to blame; no page refers to anything outside the daemon
(and chromium resolves no other host). Then hostile requests: a huge query
string, bad page numbers, unknown ids, many connections at once. Screenshots
are kept in console-screenshots/ under the test's working directory."""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

from daemon_harness import parse_metrics, total
from lstmad_cli import BIN, Checks, run, tempdir, train_fixture

SHOTS = os.path.join(os.getcwd(), "console-screenshots")
STREAMS = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace"), dict(r.getheaders())
    finally:
        conn.close()


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browse(url, profile, shot=None):
    """The DOM chromium renders for `url` (and a screenshot to `shot`)."""
    base = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
            f"--user-data-dir={profile}", "--window-size=1280,1600",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
    if shot:
        subprocess.run(base + [f"--screenshot={shot}", url], capture_output=True, timeout=120)
    return subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120).stdout


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def windows_scored(port):
    return total(parse_metrics(get(port, "/metrics")[1]), "lstmad_windows_scored_total")


def top_stream(port):
    """The pump heading /api/v1/streams while its window counts as above its threshold."""
    status, body, _ = get(port, "/api/v1/streams?per_page=1")
    m = re.search(r'"id":"pump,pump=(p\d{4})".*"above":true', body)
    return m.group(1) if status == 200 and m else None


def main():
    checks = Checks()
    os.makedirs(SHOTS, exist_ok=True)
    if not chromium():
        checks.check("chromium is installed (scripts/install-deps.sh, test set)", False)
        checks.finish()
    with tempdir() as d:
        model = os.path.join(d, "pump.lstmad")
        run("simulate", "--csv", os.path.join(d, "train.csv"), "--samples", "6000", "--seed", "42")
        train_fixture("--data", os.path.join(d, "train.csv"), "--lookback", "20", "--encoder", "32,16",
                      "--decoder", "16,32", "--activation", "tanh", "--epochs", "15", "--batch-size", "32",
                      "--patience", "3", "--threshold", "mean+6std", "--seed", "1", "--out", model)
        ingest, metrics = free_port(), free_port()
        config = os.path.join(d, "lstmad.yaml")
        with open(config, "w") as f:
            f.write(f"ingest: {{ listen: 127.0.0.1:{ingest} }}\nmetrics: {{ listen: 127.0.0.1:{metrics} }}\n"
                    f"models:\n  - {{ name: pump, path: {model}, measurement: pump, alert: {{ for: 3, clear: 5 }} }}\n"
                    "console: { history: 60 }\n")
        daemon = subprocess.Popen([BIN, "serve", "--config", config], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        sim = None
        try:
            # Both listeners, bounded: /healthz answers once the metrics port
            # listens, and the ingest port is bound a moment after it.
            deadline, ready = time.monotonic() + 60, False
            while not ready and time.monotonic() < deadline and daemon.poll() is None:
                try:
                    ready = get(metrics, "/healthz")[0] == 200 and port_open(ingest)
                except OSError:
                    pass
                if not ready:
                    time.sleep(0.1)
            checks.check("the daemon serves /healthz and listens for samples", ready)
            if not ready:
                checks.finish()
            sim = subprocess.Popen([BIN, "simulate", "--connect", f"127.0.0.1:{ingest}", "--streams", str(STREAMS),
                                    "--rate", "200", "--fault-every", "15", "--duration", "200"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            faults = []  # (time, pump, feature)
            def read_faults():
                for line in sim.stderr:
                    m = re.search(r"injecting \S+ into pump=(p\d{4}) (\w+)", line)
                    if m:
                        faults.append((time.monotonic(), m.group(1), m.group(2)))
            threading.Thread(target=read_faults, daemon=True).start()

            # The first fault whose pump heads the list within a minute of it.
            found, deadline = None, time.monotonic() + 190
            while found is None and time.monotonic() < deadline:
                top = top_stream(metrics)
                now = time.monotonic()
                for t, pump, feature in faults:
                    if pump == top and now - t <= 60:
                        found = (pump, feature, now - t)
                time.sleep(0.25)
            checks.check("a faulty pump heads /api/v1/streams, above its threshold, within a minute of its fault", found is not None,
                         f"faults {[(p, f) for _, p, f in faults]}")
            if found is None:
                checks.finish()
            pump, feature, after = found
            print(f"{pump} ({feature}) on top {after:.1f} s after its fault", flush=True)
            # Hold the picture still while the browser looks at it.
            sim.send_signal(signal.SIGSTOP)
            # What the simulator sent before it stopped is scored a moment
            # later: wait (bounded) until no window has been scored for 1 s.
            deadline, last, since = time.monotonic() + 30, None, time.monotonic()
            while time.monotonic() < deadline:
                n = windows_scored(metrics)
                if n != last:
                    last, since = n, time.monotonic()
                elif time.monotonic() - since >= 1.0:
                    break
                time.sleep(0.1)
            checks.check("it is still on top with the simulator paused", top_stream(metrics) == pump,
                         str(top_stream(metrics)))

            base = f"http://127.0.0.1:{metrics}"
            profile = os.path.join(d, "chromium")
            overview = browse(base + "/console", profile, os.path.join(SHOTS, "overview.png"))
            rows = re.findall(r'<a class="stream" href="(/console/stream\?model=pump&amp;id=pump%2Cpump%3D(p\d{4}))"',
                              overview.split('id="streams"')[-1])
            checks.check("the overview lists every pump", sorted({p for _, p in rows}) ==
                         [f"p{i:04d}" for i in range(STREAMS)], str([p for _, p in rows]))
            checks.check("the faulty pump heads the overview", bool(rows) and rows[0][1] == pump,
                         str([p for _, p in rows[:3]]))
            page = browse(base + rows[0][0].replace("&amp;", "&") if rows else base, profile,
                          os.path.join(SHOTS, "stream.png"))
            blame = re.search(r'<p id="blame">Largest share: <b>(\w+)</b>', page)
            checks.check("its page names the faulted feature", blame is not None and blame.group(1) == feature,
                         f"{blame.group(1) if blame else None} vs {feature}")
            checks.check("its page charts observed and reconstructed values",
                         page.count('class="observed"') >= 4 and page.count('class="reconstructed"') >= 4)
            alerts = browse(base + "/console/alerts", profile, os.path.join(SHOTS, "alerts.png"))
            config_page = browse(base + "/console/config", profile, os.path.join(SHOTS, "config.png"))
            for name, dom in (("overview", overview), ("stream", page), ("alerts", alerts), ("config", config_page)):
                external = [u for u in re.findall(r"(?:https?:)?//[\w.\-:\[\]]+", dom)
                            if not u.endswith(f"127.0.0.1:{metrics}")]
                checks.check(f"the {name} page refers to nothing outside the daemon", not external and
                             "<html" in dom, str(external[:5]))
            shots = sorted(os.listdir(SHOTS))
            checks.check("screenshots kept", all(f"{n}.png" in shots and os.path.getsize(os.path.join(SHOTS, f"{n}.png"))
                                                 > 1000 for n in ("overview", "stream", "alerts", "config")), str(shots))

            # Hostile requests.
            status, body, _ = get(metrics, "/api/v1/streams?page=0")
            checks.check("page=0 is a 400 naming the parameter", status == 400 and
                         body == '{"error":"page: expected an integer from 1; got \\"0\\""}', f"{status} {body}")
            status, body, _ = get(metrics, "/api/v1/streams?per_page=100000")
            checks.check("per_page beyond 500 is a 400", status == 400 and "per_page" in body, f"{status} {body}")
            status, body, _ = get(metrics, "/api/v1/streams?page=99999999999999")
            checks.check("a page past the end is empty", status == 200 and body.endswith('"streams":[]}'), body[:200])
            status, body, _ = get(metrics, "/api/v1/streams/" + urllib.parse.quote("pump,pump=nope", safe=""))
            checks.check("an unknown id is a 404 in JSON", status == 404 and body == '{"error":"no such stream"}',
                         f"{status} {body}")
            status, body, _ = get(metrics, "/api/v1/streams/" + urllib.parse.quote(f"pump,pump={pump}", safe=""))
            checks.check("a known id answers", status == 200 and f'"id":"pump,pump={pump}"' in body, body[:200])
            try:
                status = get(metrics, "/api/v1/streams?sort=" + "x" * 20000)[0]
            except (OSError, http.client.HTTPException):
                status = "closed"
            checks.check("a 20 kB query string is refused", status in (414, 431, 400, "closed"), str(status))
            answered = []
            def hammer():
                try:
                    answered.append(get(metrics, "/api/v1/streams?per_page=500", timeout=30)[0])
                except (OSError, http.client.HTTPException):
                    answered.append("closed")
            threads = [threading.Thread(target=hammer) for _ in range(64)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            checks.check("64 connections at once: each answered or closed, some answered",
                         len(answered) == 64 and answered.count(200) >= 1 and
                         all(a in (200, "closed", 429, 503) for a in answered), str(sorted(map(str, answered))))
            checks.check("the daemon still serves after", get(metrics, "/api/v1/alerts")[0] == 200 and
                         daemon.poll() is None)
            start = time.monotonic()
            status = get(metrics, "/console")[0]
            print(f"overview of {STREAMS} streams: {1000 * (time.monotonic() - start):.1f} ms", flush=True)
        finally:
            if sim is not None:
                sim.send_signal(signal.SIGCONT)
                sim.kill()
                sim.wait()
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
    checks.finish()


if __name__ == "__main__":
    main()
