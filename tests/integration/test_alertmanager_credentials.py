"""Issue 18, finding 7: Alertmanager credentials never sit in a URL. A URL
with user information (http://user:pass@host) used to pass `--check`, could
never be delivered (the client does not send user information) and logged
the password on every retry. Now `serve --check` and a SIGHUP reload refuse
it with an error that shows the URL redacted, and the password appears in
no output.
"""
import os
import signal

from daemon_harness import Daemon, train_pump_model, write_config
from lstmad_cli import Checks, run, tempdir

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


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=5, epochs=1, samples=400, encoder="8", decoder="8")
        url_credentials(checks, d, model)
    checks.finish()


if __name__ == "__main__":
    main()
