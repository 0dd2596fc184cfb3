"""Issue 18, finding 7: Alertmanager credentials never sit in a URL. A URL
with user information (http://user:pass@host) used to pass `--check`, could
never be delivered (the client does not send user information) and logged
the password on every retry. Now `serve --check` and a SIGHUP reload refuse
it with an error that shows the URL redacted, and the password appears in
no output.

And HTTPS: a real Alertmanager (Debian's prometheus-alertmanager with
--web.config.file: TLS, a required client certificate, basic auth) receives
the alert over https with alertmanager.tls; a CA that did not sign its
certificate is refused and counted; a bearer token reaches an HTTPS server.
Certificates are made here with the openssl CLI.
"""
import base64
import crypt
import http.server
import json
import os
import signal
import ssl
import subprocess
import threading
import urllib.request

from alertmanager_harness import AM_BIN, free_port, wait
from daemon_harness import Daemon, train_pump_model, write_config
from lstmad_cli import Checks, run, tempdir
from test_alertmanager import LOOKBACK, send_rounds
from test_tls_and_auth import make_ca, make_cert

SECRET = "s3cret-Pa55"
URL = f"http://alice:{SECRET}@127.0.0.1:9093"


def config_with(d, name, model, url):
    return write_config(os.path.join(d, name), [{"name": "pump", "path": model, "measurement": "pump"}],
                        extra=f'alertmanager:\n  urls: ["{url}"]\n')


def url_credentials(checks, d, model):
    bad = config_with(d, "bad.yaml", model, URL)
    proc = run("serve", "--config", bad, "--check", check=False, timeout=60)
    expected = (f"{bad}:11: alertmanager.urls[0]: credentials in the URL are refused (they would be "
                "logged, never sent); use alertmanager.basic_auth or alertmanager.bearer_token, got "
                '"http://REDACTED@127.0.0.1:9093"')
    checks.check("serve --check refuses user information in an Alertmanager URL, exit 2",
                 proc.returncode == 2 and expected in proc.stderr, f"exit {proc.returncode}: {proc.stderr!r}")
    checks.check("...and prints no part of the credentials",
                 SECRET not in proc.stdout + proc.stderr and "alice" not in proc.stdout + proc.stderr)

    good = config_with(d, "good.yaml", model, "http://127.0.0.1:9")
    with Daemon(good) as daemon:
        with open(good) as f:
            text = f.read()
        with open(good, "w") as f:
            f.write(text.replace("http://127.0.0.1:9", URL))
        daemon.signal(signal.SIGHUP)
        line = daemon.wait_for_log("configuration reload failed")
        checks.check("a reload to such a URL is refused, redacted",
                     "http://REDACTED@127.0.0.1:9093" in line and "credentials in the URL are refused" in line, line)
        ok, m = daemon.poll(lambda m: m.get('lstmad_config_reloads_total{result="failure"}') == 1, timeout=10)
        checks.check("...and counted as a failed reload", ok)
        daemon.stop()
        checks.check("the daemon logged no part of the credentials",
                     not any(SECRET in x or "alice" in x for x in daemon.logs()))


class HttpsAm:
    """A real Alertmanager speaking HTTPS only, requiring a client certificate
    signed by `ca` and basic auth as alice."""

    def __init__(self, d, pki):
        os.makedirs(d, exist_ok=True)
        self.port = free_port()
        self.pki = pki
        cfg = os.path.join(d, "alertmanager.yml")
        with open(cfg, "w") as f:
            f.write("route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n")
        web = os.path.join(d, "web.yml")
        with open(web, "w") as f:
            f.write(f"tls_server_config:\n  cert_file: {pki}/am.pem\n  key_file: {pki}/am.key\n"
                    f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki}/ca.pem\n"
                    f"basic_auth_users:\n  alice: '{crypt.crypt(SECRET, crypt.mksalt(crypt.METHOD_BLOWFISH))}'\n")
        self.proc = subprocess.Popen([AM_BIN, f"--config.file={cfg}", f"--storage.path={d}/am-data",
                                      f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
                                      f"--web.config.file={web}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait(lambda: self.get("/-/ready") is not None, timeout=30):
            self.proc.kill()
            raise AssertionError("Alertmanager (https) did not become ready")

    def get(self, path):
        ctx = ssl.create_default_context(cafile=os.path.join(self.pki, "ca.pem"))
        ctx.load_cert_chain(os.path.join(self.pki, "lstmad.pem"), os.path.join(self.pki, "lstmad.key"))
        req = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}")
        req.add_header("Authorization", "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
                return r.read()
        except OSError:
            return None

    def alerts(self):
        body = self.get("/api/v2/alerts")
        return [a for a in json.loads(body) if a["labels"].get("alertname") == "LstmadStreamAnomalous"] if body else []

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class BearerServer(http.server.BaseHTTPRequestHandler):
    """An HTTPS endpoint that records the Authorization header of each POST."""
    seen = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        BearerServer.seen.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def https_config(d, name, model, url, tls, auth):
    return write_config(os.path.join(d, name), [{"name": "pump", "path": model, "measurement": "pump"}],
                        extra=f'alertmanager:\n  urls: ["{url}"]\n  resend_interval_s: 1\n  timeout_s: 5\n'
                              f"  tls: {tls}\n  {auth}\n")


def https_delivery(checks, d, model):
    pki = os.path.join(d, "pki")
    os.makedirs(pki)
    make_ca(pki, "ca")
    make_ca(pki, "other")
    make_cert(pki, "am", "ca", san="IP:127.0.0.1")
    make_cert(pki, "lstmad", "ca")
    tls = f"{{ ca: {pki}/ca.pem, cert: {pki}/lstmad.pem, key: {pki}/lstmad.key }}"
    basic = f"basic_auth: {{ username: alice, password: {SECRET} }}"

    not_pem = os.path.join(pki, "not.pem")
    with open(not_pem, "w") as f:
        f.write("not a certificate\n")
    bad = https_config(d, "bad-ca.yaml", model, "https://127.0.0.1:9093", f"{{ ca: {not_pem} }}", basic)
    proc = run("serve", "--config", bad, "--check", check=False, timeout=60)
    checks.check("serve --check refuses an alertmanager.tls.ca that does not load, exit 2",
                 proc.returncode == 2 and f"alertmanager.tls.ca: {not_pem}: " in proc.stderr, proc.stderr.strip())

    am = HttpsAm(os.path.join(d, "am"), pki)
    bearer = http.server.HTTPServer(("127.0.0.1", 0), BearerServer)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(pki, "am.pem"), os.path.join(pki, "am.key"))
    bearer.socket = ctx.wrap_socket(bearer.socket, server_side=True)
    threading.Thread(target=bearer.serve_forever, daemon=True).start()
    try:
        cfg = https_config(d, "https.yaml", model, f"https://127.0.0.1:{am.port}", tls, basic)
        with Daemon(cfg) as daemon:
            sock = daemon.connect()
            send_rounds(sock, range(28))
            fired = wait(lambda: am.alerts(), timeout=30)
            checks.check("over https with a client certificate and basic auth, Alertmanager has the alert",
                         bool(fired) and fired[0]["labels"].get("stream") == "pump,pump=a2", str(fired)[:300])
            # Counted once Alertmanager has answered: a moment after it shows the alert.
            delivered, _ = daemon.poll(lambda m: m.get('lstmad_alert_deliveries_total{result="success"}', 0) >= 1,
                                       timeout=10)
            checks.check("...counted as delivered", delivered)

            # The same Alertmanager, verified against a CA that did not sign it.
            https_config(d, "https.yaml", model, f"https://127.0.0.1:{am.port}",
                         f"{{ ca: {pki}/other.pem, cert: {pki}/lstmad.pem, key: {pki}/lstmad.key }}", basic)
            daemon.signal(signal.SIGHUP)
            daemon.wait_for_log("configuration reloaded")
            before = daemon.metrics().get('lstmad_alert_deliveries_total{result="failure"}', 0)
            ok, _ = daemon.poll(lambda m: m.get('lstmad_alert_deliveries_total{result="failure"}', 0) > before,
                                timeout=20)
            checks.check("a CA that did not sign Alertmanager's certificate: refused and counted", ok)
            checks.check("...and logged as a failed certificate check",
                         daemon.logged("certificate verify failed", timeout=10))

            https_config(d, "https.yaml", model, f"https://127.0.0.1:{bearer.server_port}",
                         f"{{ ca: {pki}/ca.pem }}", "bearer_token: tok-123")
            daemon.signal(signal.SIGHUP)
            got = wait(lambda: BearerServer.seen, timeout=20)
            checks.check("a bearer token travels in the Authorization header over https",
                         bool(got) and got[-1] == "Bearer tok-123", str(got))
            sock.close()
            daemon.stop()
            checks.check("no log line holds the password",
                         not any(SECRET in x for x in daemon.logs()))
    finally:
        bearer.shutdown()
        am.stop()


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK)
        url_credentials(checks, d, model)
        https_delivery(checks, d, model)
    checks.finish()


if __name__ == "__main__":
    main()
