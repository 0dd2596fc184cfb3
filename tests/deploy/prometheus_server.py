"""A real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port
with a temporary storage directory, for the deploy integration test. Use as
a context manager; every wait is bounded and the process is stopped on exit.
"""
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from deploy_support import free_port, tool


class Prometheus:
    def __init__(self, config_path, workdir, start_timeout=30):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(workdir, "prometheus.log")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [tool("prometheus"), f"--config.file={config_path}",
             f"--storage.tsdb.path={os.path.join(workdir, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready(start_timeout)

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"prometheus not ready within {timeout}s:\n{self.log()}")

    def log(self):
        self._log.flush()
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def api(self, path, **params):
        """GET /api/v1/PATH; returns the decoded JSON body, errors included."""
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=15) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:  # 400/422 carry the error as JSON
            return json.load(e)

    def query(self, expr):
        return self.api("query", query=expr)

    def query_range(self, expr, seconds=60, step=5):
        end = time.time()
        return self.api("query_range", query=expr, start=f"{end - seconds:.3f}", end=f"{end:.3f}", step=step)

    def poll(self, expr, timeout=60):
        """The non-empty result of the instant query `expr` once it has one,
        or None after `timeout` seconds (for checks: a failure is recorded
        and the test goes on)."""
        deadline = time.time() + timeout
        while True:
            body = self.query(expr)
            if body.get("status") == "success" and body["data"]["result"]:
                return body["data"]["result"]
            if time.time() >= deadline:
                return None
            time.sleep(0.25)

    def wait_for(self, expr, timeout=60, what=None):
        """Like poll, but raises on timeout (for a test's preconditions)."""
        result = self.poll(expr, timeout)
        if result is None:
            raise AssertionError(f"timed out waiting for {what or expr}")
        return result

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
