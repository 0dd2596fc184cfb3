"""Issue 7: hostile and faulty clients. Slow clients, silent connections,
floods of connections, over-long lines, invalid UTF-8 and NUL bytes,
NaN/Inf, 1e308, integer overflows, a cardinality attack and clients outside
the allow-list: the daemon stays up, its memory stays under the documented
bound, the other connections keep being served, and the metrics count what
was refused. Back-pressure: `block` throttles the sender through TCP and
loses nothing; `drop_oldest` keeps reading and counts what it drops.

LSTMAD_UNDER_SANITIZER=1 (CI sets it when the daemon is an ASan+UBSan or
ThreadSanitizer build, which runs 5-20 times slower and whose shadow memory
inflates the resident size) runs every attack with smaller counts: 10,000
distinct tag sets instead of 50,000 and 6,000 back-pressure samples instead
of 30,000, trains the small model briefly, and does not hold the resident
memory to the documented bound.

Issue 18: per-peer connection caps. Idle connections from one address take
at most limits.max_connections_per_peer of the ingest port and
metrics.max_connections_per_peer of the metrics port: before, 64 idle
connections locked every prober out of /healthz and /readyz. Other peers are
simulated with source addresses in 127/8 (all local on Linux).
"""
import errno
import http.client
import os
import socket
import time

from daemon_harness import FEATURES, Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir

LOOKBACK = 10
RSS_BOUND_MB = 150  # documented in docs/threat-model.md
UNDER_SANITIZER = os.environ.get("LSTMAD_UNDER_SANITIZER") == "1"
TAG_SETS = 10000 if UNDER_SANITIZER else 50000  # against max_streams 2,000
BACK_PRESSURE_SAMPLES = 6000 if UNDER_SANITIZER else 30000
# Seconds the back-pressure flood may take to send and to be received. With
# `overflow: block` the sender goes only as fast as the big model scores; under
# ThreadSanitizer, beside another test's fine-tunes on a 2-core machine, 6,000
# windows took longer than 120 s.
BACK_PRESSURE_SECONDS = 360 if UNDER_SANITIZER else 120


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1]) / 1024
    return 0


def closed_by_peer(sock, timeout=10):
    """The daemon closed (EOF or reset) within `timeout`; a connection still
    open when the time is up is not closed (that is the failure to catch)."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:  # reset, or the socket already shut
        return True


def hostile(checks, daemon):
    served = [0]

    def keep_serving(what):
        before = total(daemon.metrics(), "lstmad_samples_received_total")
        # A fresh, well-behaved connection each time (an idle one is closed by design).
        keeper = daemon.connect()
        keeper.sendall(line("pump", {"pump": "keeper"}, pump_values(served[0])).encode())
        keeper.close()
        served[0] += 1
        daemon.wait_for(lambda m: total(m, "lstmad_samples_received_total") == before + 1, what=f"keeper after {what}")
        checks.check(f"other connections served after: {what}", daemon.proc.poll() is None)

    # A slow client: one byte every 10 ms; its line still counts once complete.
    received_before = total(daemon.metrics(), "lstmad_samples_received_total")
    slow = daemon.connect()
    for b in line("pump", {"pump": "slow"}, pump_values(0)).encode():
        slow.send(bytes([b]))
        time.sleep(0.01)
    # Its last byte may still be on its way in: wait for its line before the
    # keeper's (whose check wants exactly one more sample than it saw).
    ok, m = daemon.poll(lambda m: total(m, "lstmad_samples_received_total") == received_before + 1)
    checks.check("a slow client's line counts once complete", ok,
                 f"{total(m, 'lstmad_samples_received_total') - received_before:.0f} of 1 sample received")
    keep_serving("a slow client")
    # A client that never sends a newline is closed by the idle timeout (3 s here).
    silent = daemon.connect()
    silent.sendall(b"pump,pump=silent temperature=1")
    checks.check("a connection that never finishes its line is closed when idle", closed_by_peer(silent))
    checks.check("idle closes counted", daemon.value("lstmad_connections_closed_total", reason="idle_timeout") >= 1)
    # Disconnect mid-line: nothing counted for the partial line.
    before = daemon.metrics()
    mid = daemon.connect()
    mid.sendall(b"pump,pump=mid temperature=60,pressure=4,vibra")
    mid.close()
    keep_serving("a client that disconnected mid-line")
    after = daemon.metrics()
    checks.check("a partial line is neither received nor rejected",
                 total(after, "lstmad_samples_rejected_total") == total(before, "lstmad_samples_rejected_total"))
    # Bad bytes and numbers.
    bad = daemon.connect()
    cases = [
        (b"pump,pump=\xff\xfe temperature=1,pressure=4,vibration=0.5,flow=120\n", "parse_error"),
        (b"pump,pump=n\x00ul temperature=1,pressure=4,vibration=0.5,flow=120\n", "parse_error"),
        (b"pump,pump=x temperature=NaN,pressure=4,vibration=0.5,flow=120\n", "parse_error"),
        (b"pump,pump=x temperature=Inf,pressure=4,vibration=0.5,flow=120\n", "parse_error"),
        (b"pump,pump=x temperature=1e308,pressure=4,vibration=0.5,flow=120\n", "non_finite"),
        (b"pump,pump=x temperature=99999999999999999999i,pressure=4,vibration=0.5,flow=120\n", "parse_error"),
        (b"pump,pump=x temperature=1,pressure=4,vibration=0.5,flow=120 99999999999999999999\n", "parse_error"),
    ]
    for payload, reason in cases:
        before = total(daemon.metrics(), "lstmad_samples_rejected_total", reason=reason)
        bad.sendall(payload)
        ok, m = daemon.poll(lambda m: total(m, "lstmad_samples_rejected_total", reason=reason) == before + 1)
        checks.check(f"{payload[:70]!r} rejected as {reason}", ok,
                     f"{total(m, 'lstmad_samples_rejected_total', reason=reason) - before:.0f} counted under {reason}")
    keep_serving("bad bytes and numbers")
    # An over-long line (max_line_bytes + 1) closes only that connection.
    long = daemon.connect()
    long.sendall(b"pump,pump=l temperature=" + b"1" * 4097 + b"\n")
    checks.check("max_line_bytes + 1 closes the connection", closed_by_peer(long))
    keep_serving("an over-long line")
    # A flood of connections beyond max_connections (16 here).
    flood = []
    for _ in range(60):
        try:
            flood.append(socket.create_connection(("127.0.0.1", daemon.ingest_port), timeout=5))
        except OSError:
            pass
    ok, m = daemon.poll(lambda m: total(m, "lstmad_connections_closed_total", reason="too_many_connections") >= 40)
    checks.check("connections beyond max_connections are refused and counted", ok,
                 f"{total(m, 'lstmad_connections_closed_total', reason='too_many_connections'):.0f} refused of 60")
    for s in flood:
        s.close()
    # The keeper needs a free slot: wait until the daemon has seen closes.
    daemon.wait_for(lambda m: m.get("lstmad_connections{}", 16) < 16, what="the flood's connections closed")
    keep_serving("a connection flood")
    # Cardinality attack: distinct tag sets against max_streams 2,000.
    rss_before = rss_mb(daemon.proc.pid)
    attack = daemon.connect()
    batch = []
    for k in range(TAG_SETS):
        batch.append(line("pump", {"pump": f"attack{k}", "x": "y" * 40}, pump_values(0)))
        if len(batch) == 1000:
            attack.sendall("".join(batch).encode())
            batch = []
    daemon.wait_for(lambda m: total(m, "lstmad_samples_rejected_total", reason="too_many_streams") >= TAG_SETS - 2000,
                    timeout=120, what="cardinality attack refused")
    rss_after = rss_mb(daemon.proc.pid)
    checks.check("new streams beyond max_streams are rejected and counted",
                 daemon.value("lstmad_streams", model="pump") == 2000)
    if UNDER_SANITIZER:
        print(f"(under a sanitizer: RSS {rss_before:.0f} MB -> {rss_after:.0f} MB, bound not checked)")
    else:
        checks.check(f"memory stays under the documented bound ({RSS_BOUND_MB} MB)", rss_after < RSS_BOUND_MB,
                     f"RSS {rss_before:.0f} MB -> {rss_after:.0f} MB")
    attack.close()
    keep_serving("a cardinality attack")
    checks.check("the daemon is still up", daemon.proc.poll() is None)


def allow_list(checks, d, model):
    cfg = write_config(os.path.join(d, "allow.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                       ingest="allow: [10.0.0.0/8]")
    with Daemon(cfg) as daemon:
        s = daemon.connect()
        checks.check("a client outside ingest.allow is closed at once", closed_by_peer(s))
        ok, m = daemon.poll(lambda m: total(m, "lstmad_connections_closed_total", reason="not_allowed") == 1)
        checks.check("and counted", ok, f"{total(m, 'lstmad_connections_closed_total', reason='not_allowed'):.0f}")
        daemon.stop()


def back_pressure(checks, d, model, policy):
    cfg = write_config(os.path.join(d, f"{policy}.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                       extra=f"scoring: {{ max_batch: 4, max_wait_ms: 0, queue_windows: 8, overflow: {policy} }}\n")
    with Daemon(cfg) as daemon:
        sock = daemon.connect()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        sock.setblocking(False)
        n = BACK_PRESSURE_SAMPLES
        payload = "".join(line("pump", {"pump": "bp"}, pump_values(i)) for i in range(n)).encode()
        sent, stalls, deadline = 0, 0, time.time() + BACK_PRESSURE_SECONDS
        scrape_seconds = None
        while sent < len(payload) and time.time() < deadline:
            try:
                sent += sock.send(payload[sent:sent + 65536])
            except BlockingIOError:
                stalls += 1
                if stalls == 50 and scrape_seconds is None:
                    # The flooding connection is paused (block) or dropping:
                    # the event loop still answers /metrics at once.
                    began = time.time()
                    daemon.metrics()
                    scrape_seconds = time.time() - began
                time.sleep(0.001)
        sock.setblocking(True)
        expected = n - 30 + 1
        m = daemon.wait_for(lambda m: total(m, "lstmad_samples_received_total") == n, timeout=BACK_PRESSURE_SECONDS,
                            what="every sample received")
        if policy == "block":
            m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") == expected,
                                timeout=BACK_PRESSURE_SECONDS, what="every window scored")
            checks.check("block: the sender is throttled through TCP", stalls > 0, f"{stalls} stalls")
            checks.check("block: only that connection pauses (counted); the loop goes on",
                         total(m, "lstmad_connection_pauses_total") > 0, str(total(m, "lstmad_connection_pauses_total")))
            # (That the paused connection leaves the loop free is shown
            # exactly by IngestorStallTest; here only that a scrape works.)
            checks.check("block: /metrics answers during the flood", scrape_seconds is not None,
                         f"{scrape_seconds} s")
            checks.check("block: nothing is lost", total(m, "lstmad_windows_dropped_total") == 0)
        else:
            # Drops happen as windows are queued, which may be just after the
            # last sample was counted: read both counters in each scrape.
            m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") +
                                total(m, "lstmad_windows_dropped_total") >= expected, timeout=60,
                                what="scored + dropped")
            dropped = total(m, "lstmad_windows_dropped_total")
            checks.check("drop_oldest: windows are dropped and counted", dropped > 0, f"{dropped:.0f} dropped")
            checks.check("drop_oldest: scored + dropped = windows",
                         total(m, "lstmad_windows_scored_total") + total(m, "lstmad_windows_dropped_total") == expected)
        sock.close()
        daemon.stop()


def sigterm_while_paused(checks, d, model):
    """SIGTERM while the flooding connection is paused: what lstmad read from
    the socket is still scored (windows = samples received - T + 1)."""
    cfg = write_config(os.path.join(d, "sigterm-paused.yaml"),
                       [{"name": "pump", "path": model, "measurement": "pump"}],
                       extra="scoring: { max_batch: 4, max_wait_ms: 0, queue_windows: 8, overflow: block }\n")
    with Daemon(cfg) as daemon:
        sock = daemon.connect()
        sock.setblocking(False)
        payload = "".join(line("pump", {"pump": "bp"}, pump_values(i)) for i in range(BACK_PRESSURE_SAMPLES)).encode()
        sent, deadline = 0, time.time() + 60
        while sent < len(payload) and time.time() < deadline:
            try:
                sent += sock.send(payload[sent:sent + 65536])
            except BlockingIOError:
                break  # the daemon stopped reading: paused
        m = daemon.wait_for(lambda m: total(m, "lstmad_connection_pauses_total") > 0, timeout=30,
                            what="the connection paused")
        code = daemon.stop(timeout=120)
        stopped = [x for x in daemon.logs() if " stopped " in f" {x} " or x.endswith(" stopped")]
        fields = dict(x.split("=", 1) for x in (stopped[-1].split() if stopped else []) if "=" in x)
        received = int(fields.get("samples_received", -1))
        scored = int(fields.get("windows_scored", -2))
        checks.check("SIGTERM while paused: exit 0, and every window of what was read is scored",
                     code == 0 and received > 30 and scored == received - 30 + 1,
                     f"exit {code}, received {received}, scored {scored}")
        sock.close()


def http_get(port, path, source):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def closed_within(sock, timeout):
    """True when the daemon closes `sock` within `timeout` seconds (a timeout is not a close)."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def connect_from(port, source):
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))


def per_peer_caps(checks, d, model):
    cfg = write_config(os.path.join(d, "per-peer.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                       extra="limits: { max_connections: 16, max_connections_per_peer: 4 }\n")
    with Daemon(cfg) as daemon:
        # The harness scrapes from an address of its own.
        daemon.scrape_text = lambda: http_get(daemon.metrics_port, "/metrics", "127.0.0.3")[1]
        # Metrics port: 70 idle connections from one address (the default cap
        # is 8 per address of 64 in all).
        idle = [connect_from(daemon.metrics_port, "127.0.0.1") for _ in range(70)]
        # The daemon counts each refusal before closing it: once all are
        # counted, every refused socket is already closed, and the 0.5 s
        # below only has to tell a kept one (never closed) from a closed one.
        ok, m = daemon.poll(lambda m: total(m, "lstmad_metrics_connections_closed_total",
                                            reason="too_many_connections") >= 62)
        closed = sum(1 for s in idle if closed_within(s, 0.5))
        checks.check("metrics port: one address keeps 8 idle connections, the other 62 are closed at once",
                     closed == 62, f"{closed} closed")
        for probe, expected in (("/healthz", 200), ("/readyz", 200)):
            began = time.time()
            status = http_get(daemon.metrics_port, probe, "127.0.0.2")[0]
            seconds = time.time() - began
            # Locked out, the probe waited for its 10 s timeout; 5 s leaves a
            # loaded sanitizer build room and still tells the two apart.
            checks.check(f"{probe} answers another address while one holds its connections (before: refused)",
                         status == expected and seconds < 5, f"{status} in {seconds:.3f} s")
        m = daemon.metrics()
        checks.check("and the refused ones are counted",
                     total(m, "lstmad_metrics_connections_closed_total", reason="too_many_connections") == 62,
                     f"{total(m, 'lstmad_metrics_connections_closed_total', reason='too_many_connections'):.0f}")
        for s in idle:
            s.close()
        # Ingest port: 10 connections from one address, cap 4.
        flood = [connect_from(daemon.ingest_port, "127.0.0.1") for _ in range(10)]
        daemon.poll(lambda m: total(m, "lstmad_connections_closed_total", reason="too_many_connections") >= 6)
        refused = sum(1 for s in flood if closed_within(s, 0.5))
        checks.check("ingest: one address keeps limits.max_connections_per_peer (4), the other 6 are closed",
                     refused == 6, f"{refused} closed")
        m = daemon.metrics()
        checks.check("and counted as too_many_connections",
                     total(m, "lstmad_connections_closed_total", reason="too_many_connections") == 6,
                     f"{total(m, 'lstmad_connections_closed_total', reason='too_many_connections'):.0f}")
        other = connect_from(daemon.ingest_port, "127.0.0.2")
        other.sendall(line("pump", {"pump": "other"}, pump_values(0)).encode())
        ok, m = daemon.poll(lambda m: total(m, "lstmad_samples_received_total") == 1)
        checks.check("another address is still served on the ingest port", ok,
                     f"{total(m, 'lstmad_samples_received_total'):.0f} received")
        other.close()
        for s in flood:
            s.close()
        checks.check("exit 0", daemon.stop() == 0)


def main():
    checks = Checks()
    with tempdir() as d:
        # What the model scores does not matter here; under a sanitizer a
        # shorter training saves ~40 s.
        model = (train_pump_model(d, lookback=LOOKBACK, epochs=2, samples=600) if UNDER_SANITIZER
                 else train_pump_model(d, lookback=LOOKBACK))
        cfg = write_config(os.path.join(d, "lstmad.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                           ingest="idle_timeout: 3s",
                           extra="limits: { max_streams: 2000, max_line_bytes: 4096, max_connections: 16 }\n")
        with Daemon(cfg) as daemon:
            hostile(checks, daemon)
            checks.check("exit 0", daemon.stop() == 0)
        allow_list(checks, d, model)
        per_peer_caps(checks, d, model)
        # A model slow enough (~0.1 ms a window) that scoring falls behind a flood.
        big = train_pump_model(d, lookback=30, epochs=1, name="big.lstmad", samples=600,
                               encoder="128,64", decoder="64,128")
        for policy in ("block", "drop_oldest"):
            back_pressure(checks, d, big, policy)
        sigterm_while_paused(checks, d, big)
    checks.finish()


if __name__ == "__main__":
    main()
