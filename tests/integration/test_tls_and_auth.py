"""Issue 7, security: TLS on the ingest port with client certificates (mTLS),
certificate reload on SIGHUP, HTTP basic auth (bcrypt) on /metrics, and the
same TLS (mTLS, reload) on the metrics endpoint with basic auth on top.
Certificates are made here with the openssl CLI.

Issue 18: password guessing does not stall ingestion or /healthz (the checks
run on a bounded pool off the io thread), an unknown user name costs the same
check as a wrong password, a peer over its failure budget gets 429 at once,
credentials with a NUL or junk after the base64 are refused, HTTP versions
other than 1.0 and 1.1 are refused, and a half-finished TLS handshake on the
ingest port is closed after ingest.handshake_timeout. Other peers are
simulated with source addresses in 127/8 (all local on Linux).
"""
import base64
import crypt
import http.client
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=d)


def make_cert(d, name, ca, san=None):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", cwd=d)
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", "2", "-extfile", ext, "-out", f"{name}.pem", cwd=d)


def tls_client(d, port, cert=None):
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
    if cert:
        ctx.load_cert_chain(os.path.join(d, f"{cert}.pem"), os.path.join(d, f"{cert}.key"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def refused(d, port, cert):
    try:
        s = tls_client(d, port, cert)
        s.sendall(line("pump", {"pump": "intruder"}, pump_values(0)).encode())
        s.settimeout(5)
        return s.recv(1) == b""  # TLS 1.3 reports the missing certificate after the handshake
    except socket.timeout:
        return False  # still open after 5 s: not refused
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError, OSError):
        return True


def scrape(port, user=None, password=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if user:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    try:
        return urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code


AUTH = "Basic " + base64.b64encode(b"prometheus:s3cret").decode()


def https_get(d, port, cert="client", auth=AUTH, path="/metrics"):
    """(status, body, server certificate serial) over HTTPS, or None when the
    connection is refused (handshake failure, reset or close without a response)."""
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
    if cert:
        ctx.load_cert_chain(os.path.join(d, f"{cert}.pem"), os.path.join(d, f"{cert}.key"))
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
    try:
        conn.connect()
        serial = conn.sock.getpeercert()["serialNumber"]
        conn.request("GET", path, headers={"Authorization": auth} if auth else {})
        r = conn.getresponse()
        return r.status, r.read().decode(), serial
    except (ssl.SSLError, ConnectionError, http.client.HTTPException, OSError):
        return None
    finally:
        conn.close()


def plain_http_gets_nothing(port):
    """A plain-HTTP request to the TLS port: no metrics come back."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH}\r\n\r\n".encode())
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    s.close()
    return b"lstmad_" not in got and not got.startswith(b"HTTP/")


def metrics_over_tls(checks, d, model, hashed):
    cfg = write_config(os.path.join(d, "metrics-tls.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                       metrics=f'basic_auth_users: {{ prometheus: "{hashed}" }}\n'
                               "tls: { cert: server.pem, key: server.key, client_ca: ca.pem }")
    with Daemon(cfg) as daemon:
        port = daemon.metrics_port

        def scrape_text():
            got = https_get(d, port)
            assert got is not None and got[0] == 200, f"HTTPS scrape failed: {got}"
            return got[1]
        daemon.scrape_text = scrape_text

        got = https_get(d, port)
        checks.check("metrics.tls: an HTTPS scrape with the CA and a client certificate succeeds",
                     got is not None and got[0] == 200 and "lstmad_build_info" in got[1], str(got and got[0]))
        old_serial = got[2] if got else None
        got = https_get(d, port, auth=None)
        checks.check("metrics.tls: a scrape without credentials gets 401 over TLS",
                     got is not None and got[0] == 401, str(got and got[0]))
        got = https_get(d, port, auth="Basic " + base64.b64encode(b"prometheus:nope").decode())
        checks.check("metrics.tls: wrong credentials get 401 over TLS", got is not None and got[0] == 401)
        got = https_get(d, port, auth=None, path="/healthz")
        checks.check("metrics.tls: /healthz answers over TLS", got is not None and got[0] == 200)
        checks.check("metrics.tls: plain HTTP on the TLS port gets no metrics", plain_http_gets_nothing(port))
        checks.check("metrics.tls: a client without a certificate is refused", https_get(d, port, cert=None) is None)
        checks.check("metrics.tls: a client with a certificate from another CA is refused",
                     https_get(d, port, cert="rogue") is None)
        m = daemon.wait_for(
            lambda m: total(m, "lstmad_metrics_connections_closed_total", reason="tls_handshake") >= 3,
            what="refused metrics handshakes counted")
        refused_count = total(m, "lstmad_metrics_connections_closed_total", reason="tls_handshake")
        checks.check("metrics.tls: the three refused handshakes are counted", refused_count == 3, str(refused_count))
        checks.check("metrics.tls: ingest refusals are not mixed in",
                     total(m, "lstmad_connections_closed_total", reason="tls_handshake") == 0)

        # SIGHUP after replacing the certificate: new connections see the new one.
        make_cert(d, "server", "ca", san="IP:127.0.0.1")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for(lambda m: m.get('lstmad_config_reloads_total{result="success"}', 0) == 1, what="reload")
        got = https_get(d, port)
        checks.check("metrics.tls: SIGHUP reloads the certificate",
                     got is not None and got[0] == 200 and got[2] != old_serial, f"{old_serial} -> {got and got[2]}")
        # A scraper still connected (mid-handshake) at SIGTERM: its connection
        # is destroyed after the HTTP server (under ASan this caught a
        # use-after-free at exit).
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        https_get(d, port, auth=None, path="/healthz")  # the idle connection has been accepted by now
        checks.check("metrics.tls: exit 0 with a connection still open", daemon.stop() == 0)
        idle.close()


def http_get(port, path, source="127.0.0.1", auth=None, timeout=10):
    """(status, headers dict, body) of one plain-HTTP GET from `source`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request("GET", path, headers={"Authorization": auth} if auth else {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        conn.close()


def basic(user_password):
    return "Basic " + base64.b64encode(user_password).decode()


def raw_request(port, request, timeout=10):
    """What the server answers to the raw bytes of `request`, until it closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(request)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    s.close()
    return got


def strict_credentials_and_versions(checks, daemon):
    """Issue 18, finding 12: crypt() stops at a NUL, and the old decoder
    stopped at the first '='; both let junk through."""
    port = daemon.metrics_port
    cases = [
        ("a NUL and junk after the right password", basic(b"prometheus:s3cret\0junk")),
        ("a NUL right after the right password", basic(b"prometheus:s3cret\0")),
        ("junk after the base64 padding", basic(b"prometheus:s3cret") + "junk"),
        ("base64 of the right password with another after it", basic(b"prometheus:s3cret") + basic(b"x")[6:]),
    ]
    for i, (what, auth) in enumerate(cases):
        status = http_get(port, "/metrics", f"127.0.0.{20 + i}", auth)[0]  # each within its failure budget
        checks.check(f"basic auth refuses {what}", status == 401, str(status))
    checks.check("the right credentials still get 200", http_get(port, "/metrics", "127.0.0.29", AUTH)[0] == 200)
    for request, expected in ((b"GET /healthz HTTP/2.0\r\n\r\n", b"HTTP/1.1 505 "),
                              (b"GET /healthz HTTP/0.9\r\n\r\n", b"HTTP/1.1 505 "),
                              (b"GET /healthz HTTP/1.x\r\n\r\n", b"HTTP/1.1 400 "),
                              (b"GET /healthz FOO\r\n\r\n", b"HTTP/1.1 400 "),
                              (b"GET /healthz HTTP/1.0\r\n\r\n", b"HTTP/1.1 200 ")):
        got = raw_request(port, request)
        request_line = request.split(b"\r")[0].decode()
        checks.check(f"{request_line!r} gets {expected.decode().strip()}", got.startswith(expected), repr(got[:40]))


def failure_budget(checks, daemon):
    """Issue 18, finding 2: after max_auth_failures_per_minute (3 here) failed
    logins an address gets 429 at once, even with the right password; other
    addresses are not affected."""
    port, src = daemon.metrics_port, "127.0.0.30"
    statuses, checked = [], []
    for i in range(3):
        began = time.time()
        statuses.append(http_get(port, "/metrics", src, basic(b"prometheus:guess%d" % i))[0])
        checked.append(time.time() - began)  # each a bcrypt check, on this machine, under its load now
    checks.check("three wrong passwords get 401", statuses == [401, 401, 401], str(statuses))
    began = time.time()
    status, headers, _ = http_get(port, "/metrics", src, AUTH)
    seconds = time.time() - began
    # Without a check the answer comes well before one check's time; the
    # bound follows the checks just measured (a slow sanitizer build or a
    # loaded machine slows both), and is never under the former 0.2 s.
    bound = max(0.2, 0.5 * min(checked))
    checks.check("then even the right password gets 429 with Retry-After, without a password check",
                 status == 429 and 1 <= int(headers.get("Retry-After", "0")) <= 60 and seconds < bound,
                 f"{status} {headers.get('Retry-After')} in {seconds:.3f} s (bound {bound:.3f} s; "
                 f"checks took {', '.join(f'{t:.3f}' for t in checked)} s)")
    checks.check("/healthz still answers that address", http_get(port, "/healthz", src)[0] == 200)
    checks.check("another address is not blocked", http_get(port, "/metrics", "127.0.0.31", AUTH)[0] == 200)
    checks.check("failed logins are logged", daemon.logged("metrics endpoint: basic auth failed"))


def guessing_does_not_stall(checks, d, model, hashed):
    """Issue 18, finding 2: 16 clients guessing the password of a real user
    (each from an address of its own, so the failure budget does not stop
    them) while a sender writes 20,000 lines: before, bcrypt ran on the io
    thread and the lines took 12.8 s, /healthz 4.4-4.8 s."""
    cfg = write_config(os.path.join(d, "guessing.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                       metrics=f'basic_auth_users: {{ prometheus: "{hashed}" }}\n'
                               "max_auth_failures_per_minute: 100000")
    with Daemon(cfg) as daemon:
        daemon.scrape_text = lambda: http_get(daemon.metrics_port, "/metrics", "127.0.0.2", AUTH)[2]
        port = daemon.metrics_port
        daemon.metrics()  # accepted once: remembered, no check on the scrapes below
        # Same path for a known user with a wrong password and an unknown
        # user: both cost a bcrypt check (before: 0.3 ms for an unknown name).
        timings = {}
        for who in ("prometheus", "nobody"):
            began = time.time()
            status = http_get(port, "/metrics", "127.0.0.3", basic(who.encode() + b":wrong"))[0]
            timings[who] = (status, time.time() - began)
        checks.check("a wrong password and an unknown user both get 401 after a password check (>= 50 ms)",
                     all(st == 401 and t >= 0.05 for st, t in timings.values()),
                     ", ".join(f"{k}: {st} in {t * 1000:.0f} ms" for k, (st, t) in timings.items()))
        stop = threading.Event()
        answers = {}
        lock = threading.Lock()

        def guesser(k):
            i = 0
            while not stop.is_set():
                try:
                    status = http_get(port, "/metrics", f"127.0.1.{k + 1}", basic(b"prometheus:guess%d" % i))[0]
                except OSError:
                    status = "error"
                with lock:
                    answers[status] = answers.get(status, 0) + 1
                i += 1

        guessers = [threading.Thread(target=guesser, args=(k,), daemon=True) for k in range(16)]
        for t in guessers:
            t.start()
        time.sleep(0.5)  # the pool is busy and its queue full
        n = 20000
        payload = "".join(line("pump", {"pump": f"p{i % 20}"}, pump_values(i)) for i in range(n)).encode()
        health = []
        began = time.time()
        sender = daemon.connect()
        sender.sendall(payload)
        sender.close()
        received = False
        while time.time() - began < 60:
            h0 = time.time()
            status = http_get(port, "/healthz", "127.0.0.4")[0]
            health.append((status, time.time() - h0))
            if total(daemon.metrics(), "lstmad_samples_received_total") == n:
                received = True
                break
        ingest_seconds = time.time() - began
        for _ in range(5):
            h0 = time.time()
            status = http_get(port, "/healthz", "127.0.0.4")[0]
            health.append((status, time.time() - h0))
            time.sleep(0.05)
        stop.set()
        for t in guessers:
            t.join(timeout=15)
        worst = max(t for _, t in health)
        print(f"while 16 clients guess: {n} lines received in {ingest_seconds:.2f} s, /healthz worst "
              f"{worst * 1000:.0f} ms of {len(health)}, guesses answered {answers}", flush=True)
        checks.check("the guessers were busy (401s and 503s from the full pool)",
                     answers.get(401, 0) > 0 and answers.get(503, 0) > 0, str(answers))
        # Under a sanitizer (CI's ASan step, tests in parallel) the same lines
        # take 5 to 10 s even without guessers; the bound still fails the
        # old behaviour there, where bcrypt ran on the io thread.
        under_sanitizer = bool(os.environ.get("LSTMAD_UNDER_SANITIZER"))
        limit = 30 if under_sanitizer else 5
        checks.check(f"{n} lines are received within {limit} s while 16 clients guess (before: 12.8 s)",
                     received and ingest_seconds < limit, f"{ingest_seconds:.2f} s")
        # bcrypt (libcrypt, not instrumented) takes as long under a sanitizer,
        # so the old behaviour still took over 4 s there; the daemon's own
        # request handling, instrumented, is several times slower.
        health_limit = 2.0 if under_sanitizer else 0.5
        checks.check(f"/healthz answers within {health_limit} s throughout (before: 4.4-4.8 s)",
                     all(st == 200 for st, _ in health) and worst < health_limit, f"worst {worst:.3f} s")
        checks.check("the right credentials still get 200", http_get(port, "/metrics", "127.0.0.5", AUTH)[0] == 200)
        checks.check("exit 0", daemon.stop() == 0)


def half_open_handshake(checks, daemon):
    """Issue 18, finding 4: a client that connects to the mTLS port and never
    finishes its handshake held a connection slot for idle_timeout (300 s);
    ingest.handshake_timeout (2 s here) closes it."""
    before = total(daemon.metrics(), "lstmad_connections_closed_total", reason="tls_handshake")
    silent = socket.create_connection(("127.0.0.1", daemon.ingest_port), timeout=10)
    partial = socket.create_connection(("127.0.0.1", daemon.ingest_port), timeout=10)
    partial.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a ClientHello
    began = time.time()
    closed = [closed_within(s, 10) for s in (silent, partial)]
    seconds = time.time() - began
    checks.check("half-finished TLS handshakes are closed after ingest.handshake_timeout (2 s), not idle_timeout",
                 all(closed) and 1.0 <= seconds < 8, f"closed {closed} after {seconds:.1f} s")
    ok, m = daemon.poll(lambda m: total(m, "lstmad_connections_closed_total", reason="tls_handshake") == before + 2)
    checks.check("and counted as tls_handshake", ok,
                 f"{total(m, 'lstmad_connections_closed_total', reason='tls_handshake') - before:.0f} of 2")
    silent.close()
    partial.close()


def closed_within(sock, timeout):
    sock.settimeout(timeout)
    try:
        while True:
            if sock.recv(4096) == b"":
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, epochs=3)
        make_ca(d, "ca")
        make_ca(d, "rogue-ca")
        make_cert(d, "server", "ca", san="IP:127.0.0.1")
        make_cert(d, "client", "ca")
        make_cert(d, "rogue", "rogue-ca")
        hashed = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH))
        cfg = write_config(os.path.join(d, "lstmad.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                           ingest="tls: { cert: server.pem, key: server.key, client_ca: ca.pem }\n"
                                  "handshake_timeout: 2s",
                           metrics=f'basic_auth_users: {{ prometheus: "{hashed}" }}\n'
                                   "max_auth_failures_per_minute: 3")

        with Daemon(cfg) as daemon:
            # The daemon scrapes below need credentials.
            status = scrape(daemon.metrics_port)
            checks.check("a scrape without credentials gets 401", status == 401, str(status))
            checks.check("wrong credentials get 401", scrape(daemon.metrics_port, "prometheus", "nope") == 401)
            checks.check("the right credentials get 200", scrape(daemon.metrics_port, "prometheus", "s3cret") == 200)
            daemon.scrape_text = lambda: urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{daemon.metrics_port}/metrics",
                headers={"Authorization": "Basic " + base64.b64encode(b"prometheus:s3cret").decode()}),
                timeout=10).read().decode()

            s = tls_client(d, daemon.ingest_port, "client")
            for i in range(12):
                s.sendall(line("pump", {"pump": "tls"}, pump_values(i)).encode())
            ok, m = daemon.poll(lambda m: total(m, "lstmad_windows_scored_total") == 3)
            checks.check("a client with a valid certificate is served over TLS", ok,
                         f"{total(m, 'lstmad_windows_scored_total'):.0f} windows of 3")
            checks.check("a client without a certificate is refused", refused(d, daemon.ingest_port, None))
            checks.check("a client with a certificate from another CA is refused",
                         refused(d, daemon.ingest_port, "rogue"))
            plain = socket.create_connection(("127.0.0.1", daemon.ingest_port), timeout=10)
            plain.sendall(line("pump", {"pump": "plain"}, pump_values(0)).encode())
            plain.settimeout(5)
            closed = False
            try:
                for _ in range(10):  # the server may answer with a TLS alert, then closes
                    if plain.recv(100) == b"":
                        closed = True
                        break
            except socket.timeout:
                closed = False  # still open after 5 s
            except OSError:
                closed = True
            checks.check("plain TCP on the TLS port is closed", closed)
            m = daemon.wait_for(lambda m: total(m, "lstmad_connections_closed_total", reason="tls_handshake") >= 3,
                                what="handshake failures counted")
            checks.check("refusals counted", total(m, "lstmad_connections_closed_total", reason="tls_handshake") >= 3)
            checks.check("no sample from refused clients", total(m, "lstmad_samples_received_total") == 12)

            # Certificate reload on SIGHUP: a new server certificate for new connections.
            old_serial = s.getpeercert()["serialNumber"]
            make_cert(d, "server", "ca", san="IP:127.0.0.1")
            daemon.signal(signal.SIGHUP)
            daemon.wait_for(lambda m: m.get('lstmad_config_reloads_total{result="success"}', 0) == 1, what="reload")
            s2 = tls_client(d, daemon.ingest_port, "client")
            checks.check("SIGHUP reloads the certificate", s2.getpeercert()["serialNumber"] != old_serial)
            s.sendall(line("pump", {"pump": "tls"}, pump_values(12)).encode())
            ok, m = daemon.poll(lambda m: total(m, "lstmad_windows_scored_total") == 4)
            checks.check("connections made before the reload keep working", ok,
                         f"{total(m, 'lstmad_windows_scored_total'):.0f} windows of 4")
            s.close()
            s2.close()
            half_open_handshake(checks, daemon)
            strict_credentials_and_versions(checks, daemon)
            failure_budget(checks, daemon)
            checks.check("exit 0", daemon.stop() == 0)
        metrics_over_tls(checks, d, model, hashed)
        guessing_does_not_stall(checks, d, model, hashed)
    checks.finish()


if __name__ == "__main__":
    main()
