"""Issue 16: the InfluxDB write API (ingest.http). The real InfluxDB Python
client (Debian's python3-influxdb) writes batches through POST /write, plain
and gzip, one with a bad line in the middle: the counters and the scored
windows match exactly, and the answer names the bad line. curl covers
POST /api/v2/write with the token (204) and a wrong one (401); bodies over
ingest.http.max_body_bytes and a gzip bomb get 413; /ping and /health answer
as InfluxDB's do.
"""
import base64
import gzip
import json
import os
import re
import subprocess
import sys
import tomllib

from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir

try:
    from influxdb import InfluxDBClient
    from influxdb.exceptions import InfluxDBClientError
except ImportError:
    print("python3-influxdb is missing: scripts/install-deps.sh installs it", file=sys.stderr)
    sys.exit(1)

LOOKBACK, SAMPLES, TOKEN = 10, 30, "s3cret-token"
TELEGRAF_CONF = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "telegraf", "telegraf.conf")
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, in seconds


def http_port(daemon):
    found = daemon.wait_for_log("serving the InfluxDB write API")
    return int(re.search(r"listen=[^ ]*:(\d+)", found).group(1))


def curl(port, path, data=b"", headers=(), method="POST"):
    """(status, headers text, body) of one request by curl."""
    cmd = ["curl", "-s", "-S", "-D", "-", "-X", method, f"http://127.0.0.1:{port}{path}", "--max-time", "20"]
    for h in headers:
        cmd += ["-H", h]
    if method == "POST":
        cmd += ["--data-binary", "@-"]
    out = subprocess.run(cmd, input=data, capture_output=True, timeout=30, check=True).stdout.decode("latin-1")
    # Skip an interim "100 Continue" block.
    blocks = out.split("\r\n\r\n")
    while blocks and re.match(r"HTTP/1\.1 100 ", blocks[0]):
        blocks.pop(0)
    head, body = blocks[0], "\r\n\r\n".join(blocks[1:])
    return int(head.split(" ")[1]), head, body


def stream_lines(pump, precision_scale=1):
    return [line("pump", {"pump": pump}, pump_values(i), ts=(T0 + i) * precision_scale).rstrip("\n")
            for i in range(SAMPLES)]


def main():
    checks = Checks()
    # Telegraf is not in Debian 12: its shipped configuration is parsed, and
    # what its outputs.influxdb sends with it is sent below.
    with open(TELEGRAF_CONF, "rb") as f:
        telegraf = tomllib.load(f)["outputs"]["influxdb"][0]
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=2, samples=800)
        config = write_config(f"{d}/lstmad.yaml", [{"name": "pump", "path": model, "measurement": "pump"}],
                              ingest="http:\n  listen: 127.0.0.1:0\n  max_body_bytes: 65536\n"
                                     f"  tokens: [\"{TOKEN}\", \"{telegraf['password']}\"]")
        with Daemon(config) as daemon:
            port = http_port(daemon)
            plain = InfluxDBClient("127.0.0.1", port, "lstmad", TOKEN, "lstmad", retries=1, timeout=20)
            packed = InfluxDBClient("127.0.0.1", port, "lstmad", TOKEN, "lstmad", retries=1, timeout=20, gzip=True)
            checks.check("the client's ping gets a version", bool(plain.ping()))

            checks.check("a plain batch is written",
                         plain.write_points(stream_lines("a"), time_precision="s", protocol="line"))
            bad = stream_lines("b")
            bad.insert(15, "pump,pump=b temperature=1.0,pressure=oops")
            error = None
            try:
                packed.write_points(bad, time_precision="s", protocol="line")
            except InfluxDBClientError as e:
                error = e
            checks.check("a gzip batch with a bad line gets 400 naming line 16",
                         error is not None and error.code == 400 and "line 16" in str(error.content), repr(error))
            denied = InfluxDBClient("127.0.0.1", port, "lstmad", "wrong", "lstmad", retries=1, timeout=20)
            try:
                denied.write_points(stream_lines("z"), time_precision="s", protocol="line")
                checks.check("a wrong password gets 401", False, "written")
            except InfluxDBClientError as e:
                checks.check("a wrong password gets 401", e.code == 401, str(e.code))

            windows = 2 * (SAMPLES - LOOKBACK + 1)
            m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") >= windows, timeout=60,
                                what="the client's windows scored")
            checks.check("received: both streams' 60 samples", total(m, "lstmad_samples_received_total") == 60,
                         str(total(m, "lstmad_samples_received_total")))
            checks.check("rejected: the one bad line, as a parse error",
                         total(m, "lstmad_samples_rejected_total") == 1 and
                         total(m, "lstmad_samples_rejected_total", reason="parse_error") == 1)
            checks.check(f"windows scored: exactly {windows}", total(m, "lstmad_windows_scored_total") == windows,
                         str(total(m, "lstmad_windows_scored_total")))

            v2 = "\n".join(stream_lines("c", 1000)).encode()
            status, _, body = curl(port, "/api/v2/write?org=o&bucket=b&precision=ms", v2,
                                   [f"Authorization: Token {TOKEN}"])
            checks.check("curl /api/v2/write with the token gets 204", status == 204, f"{status} {body}")
            status, _, body = curl(port, "/api/v2/write?org=o&bucket=b", v2, ["Authorization: Token nope"])
            checks.check("a wrong token gets 401 in v2's JSON", status == 401 and json.loads(body)["code"] ==
                         "unauthorized", f"{status} {body}")
            status, _, body = curl(port, "/api/v2/write?org=o&bucket=b&precision=h", v2,
                                   [f"Authorization: Token {TOKEN}"])
            checks.check("v2 refuses precision h", status == 400 and json.loads(body)["code"] == "invalid", body)
            m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") >= windows * 3 / 2,
                                timeout=60, what="v2's windows scored")
            checks.check("v2's samples in ms are scored like the others",
                         total(m, "lstmad_samples_received_total") == 90 and
                         total(m, "lstmad_windows_scored_total") == windows * 3 / 2,
                         str(total(m, "lstmad_samples_received_total")))

            # As Telegraf's outputs.influxdb posts with deploy/telegraf/telegraf.conf.
            auth = base64.b64encode(f"{telegraf['username']}:{telegraf['password']}".encode()).decode()
            status, _, body = curl(port, f"/write?db={telegraf['database']}",
                                   gzip.compress("\n".join(stream_lines("d", 10**9)).encode() + b"\n"),
                                   [f"Authorization: Basic {auth}", "Content-Encoding: gzip",
                                    "User-Agent: Telegraf/1.28"])
            checks.check("Telegraf's request (deploy/telegraf/telegraf.conf) gets 204",
                         telegraf["content_encoding"] == "gzip" and status == 204, f"{status} {body}")
            m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") >= windows * 2,
                                timeout=60, what="Telegraf's windows scored")
            checks.check("Telegraf's samples are scored", total(m, "lstmad_samples_received_total") == 120 and
                         total(m, "lstmad_windows_scored_total") == windows * 2)

            status, _, _ = curl(port, "/write?db=x", b"x" * 70000, [f"Authorization: Token {TOKEN}"])
            checks.check("a body over max_body_bytes gets 413", status == 413, str(status))
            bomb = gzip.compress(b"\0" * (8 << 20))
            status, _, _ = curl(port, "/write?db=x", bomb, [f"Authorization: Token {TOKEN}", "Content-Encoding: gzip"])
            checks.check(f"a gzip bomb ({len(bomb)} bytes to 8 MiB) gets 413", status == 413, str(status))
            status, head, _ = curl(port, "/ping", method="GET")
            checks.check("/ping: 204 with X-Influxdb-Version", status == 204 and "X-Influxdb-Version" in head)
            status, _, body = curl(port, "/health", method="GET")
            checks.check("/health: 200 JSON passing", status == 200 and json.loads(body)["status"] == "pass", body)
            checks.check("nothing else was counted", total(daemon.metrics(), "lstmad_samples_received_total") == 120)
    checks.finish()


if __name__ == "__main__":
    main()
