"""A real Alertmanager (Debian's prometheus-alertmanager) on a free loopback
port, for the tests that check what lstmad pushes to it."""
import json
import os
import socket
import subprocess
import time
import urllib.request

AM_BIN = "/usr/bin/prometheus-alertmanager"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_alertmanager(d):
    """Starts one in directory `d` (created); returns (process, port) once ready."""
    os.makedirs(d, exist_ok=True)
    port = free_port()
    cfg = os.path.join(d, "alertmanager.yml")
    with open(cfg, "w") as f:
        f.write("route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n")
    proc = subprocess.Popen([AM_BIN, f"--config.file={cfg}", f"--storage.path={d}/am-data",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2)
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("Alertmanager did not become ready")


def am_alerts(port):
    """The active LstmadStreamAnomalous alerts Alertmanager holds."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/alerts", timeout=5) as r:
        return [a for a in json.load(r) if a["labels"].get("alertname") == "LstmadStreamAnomalous"]


def wait(predicate, timeout=30):
    """predicate()'s first truthy result within `timeout` s, else None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    return None
