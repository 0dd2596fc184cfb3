"""Issue 7, security: TLS on the ingest port with client certificates (mTLS),
certificate reload on SIGHUP, HTTP basic auth (bcrypt) on /metrics, and the
same TLS (mTLS, reload) on the metrics endpoint with basic auth on top.
Certificates are made here with the openssl CLI.
"""
import base64
import crypt
import http.client
import os
import signal
import socket
import ssl
import subprocess
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
                           ingest="tls: { cert: server.pem, key: server.key, client_ca: ca.pem }",
                           metrics=f'basic_auth_users: {{ prometheus: "{hashed}" }}')

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
            checks.check("exit 0", daemon.stop() == 0)
        metrics_over_tls(checks, d, model, hashed)
    checks.finish()


if __name__ == "__main__":
    main()
