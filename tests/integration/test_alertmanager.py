"""Issue 5, acceptance 2: a real Alertmanager (Debian's prometheus-alertmanager,
started here on a free loopback port) receives lstmad's pushed alert with the
right labels and annotations, and then its resolution. A firing alert outlives
a restart: the new process re-sends it (same startsAt and annotations), and
its resolution still reaches Alertmanager.
"""
import os
import time

from alertmanager_harness import am_alerts, free_port, start_alertmanager, wait
from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir

LOOKBACK = 10


def send_rounds(sock, rounds, faulty=range(20, 26)):
    """Rounds of samples for streams a1 and a2; a2's flow shifts in `faulty`."""
    for i in rounds:
        values = {s: pump_values(i, k) for k, s in enumerate(["a1", "a2"])}
        if i in faulty:
            values["a2"][3] += 60.0
        sock.sendall("".join(line("pump", {"pump": s}, v) for s, v in values.items()).encode())


def restart_test(checks, d, model):
    am, am_port = start_alertmanager(os.path.join(d, "am-restart"))
    try:
        # A long resend interval: only the restart can make Alertmanager hear
        # of the alert again within the test.
        cfg = write_config(os.path.join(d, "restart.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                           extra=f"alertmanager:\n  urls: [\"http://127.0.0.1:{am_port}\"]\n"
                                 f"  resend_interval_s: 600\nstate: {{ path: {d}/state }}\n")
        with Daemon(cfg) as daemon:
            sock = daemon.connect()
            send_rounds(sock, range(28))
            fired = wait(lambda: am_alerts(am_port))
            checks.check("before the restart: Alertmanager has the firing alert", bool(fired))
            sock.close()
            checks.check("SIGTERM exits 0 with the alert firing", daemon.stop() == 0)
        first = fired[0] if fired else {}
        time.sleep(1.1)  # Alertmanager's updatedAt has millisecond precision; leave no doubt
        restarted = time.time()
        with Daemon(cfg) as daemon:
            restored = daemon.wait_for_log("snapshot restored", timeout=10)
            checks.check("the snapshot brings the firing alert back", "firing_alerts=1" in restored, restored)

            def updated():
                now = am_alerts(am_port)
                if len(now) == 1 and now[0]["updatedAt"] != first.get("updatedAt"):
                    return now
                return None
            again = wait(updated, timeout=15)
            # The client counts a delivery once Alertmanager has answered:
            # Alertmanager may show the alert a moment before the counter moves.
            counted, m = daemon.poll(lambda m: m.get('lstmad_alert_deliveries_total{result="success"}', 0) >= 1,
                                     timeout=10)
            checks.check("the new process re-sends it at once, without a new sample",
                         bool(again) and counted,
                         f"{again} (restarted at {restarted:.3f}); "
                         f"{total(m, 'lstmad_alert_deliveries_total', result='success'):.0f} deliveries counted")
            if again:
                checks.check("with the original startsAt, labels and annotations",
                             again[0]["startsAt"] == first["startsAt"] and again[0]["labels"] == first["labels"] and
                             again[0]["annotations"] == first["annotations"],
                             f'{again[0]["startsAt"]} vs {first["startsAt"]}; {again[0]["annotations"]}')
            sock = daemon.connect()
            send_rounds(sock, range(28, 45))
            resolved = wait(lambda: total(daemon.metrics(), "lstmad_stream_anomalous") == 0 and not am_alerts(am_port))
            checks.check("its resolution after the restart reaches Alertmanager", bool(resolved))
            sock.close()
            checks.check("exit 0", daemon.stop() == 0)
    finally:
        am.terminate()
        am.wait(timeout=10)


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK)
        restart_test(checks, d, model)
        am, am_port = start_alertmanager(d)
        try:
            cfg = write_config(os.path.join(d, "lstmad.yaml"),
                               [{"name": "pump", "path": model, "measurement": "pump"}],
                               extra=f"alertmanager:\n  urls: [\"http://127.0.0.1:{am_port}\"]\n"
                                     "  resend_interval_s: 2\n  severity: critical\n")
            with Daemon(cfg) as daemon:
                sock = daemon.connect()
                for i in range(40):
                    values = {s: pump_values(i, k) for k, s in enumerate(["a1", "a2"])}
                    if 20 <= i < 26:
                        values["a2"][3] += 60.0  # a level shift on a2's flow
                    sock.sendall("".join(line("pump", {"pump": s}, v) for s, v in values.items()).encode())
                    if i == 27:
                        fired = wait(lambda: am_alerts(am_port))
                        checks.check("Alertmanager received the firing alert", bool(fired))
                        if fired:
                            a = fired[0]
                            # The stream's tag is a label too, so a route can match pump="a2".
                            checks.check("labels: alertname, model, stream, severity, the tag",
                                         a["labels"] == {"alertname": "LstmadStreamAnomalous", "model": "pump",
                                                         "stream": "pump,pump=a2", "severity": "critical",
                                                         "pump": "a2"},
                                         str(a["labels"]))
                            ann = a["annotations"]
                            checks.check("annotations: error above threshold",
                                         float(ann["error"]) > float(ann["threshold"]), str(ann))
                            checks.check("annotations: top features name flow first",
                                         ann["top_features"].startswith("flow "), ann["top_features"])
                            checks.check("annotations: summary and description", "summary" in ann and "description" in ann)
                            checks.check("only the faulty stream alerts", len(fired) == 1)
                resolved = wait(lambda: total(daemon.metrics(), "lstmad_stream_anomalous") == 0 and not am_alerts(am_port))
                checks.check("the resolution reaches Alertmanager (no active alert left)", bool(resolved))
                # The resolution's delivery is counted once Alertmanager has
                # answered, which may be just after the alert left its API.
                _, m = daemon.poll(lambda m: m.get('lstmad_alert_deliveries_total{result="success"}', 0) >= 2,
                                   timeout=10)
                checks.check("deliveries counted as success", m.get('lstmad_alert_deliveries_total{result="success"}', 0) >= 2,
                             str(m.get('lstmad_alert_deliveries_total{result="success"}')))
                sock.close()
                checks.check("exit 0", daemon.stop() == 0)
        finally:
            am.terminate()
            am.wait(timeout=10)

        # An unreachable Alertmanager never blocks scoring; failures are counted.
        dead_port = free_port()
        cfg = write_config(os.path.join(d, "dead.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                           extra=f"alertmanager:\n  urls: [\"http://127.0.0.1:{dead_port}\"]\n  timeout_s: 0.5\n")
        with Daemon(cfg) as daemon:
            sock = daemon.connect()
            for i in range(40):
                v = pump_values(i)
                if 20 <= i < 26:
                    v[3] += 60.0
                sock.sendall(line("pump", {"pump": "x"}, v).encode())
            ok, m = daemon.poll(lambda m: total(m, "lstmad_windows_scored_total") == 40 - LOOKBACK + 1 and
                                m.get('lstmad_alert_deliveries_total{result="failure"}', 0) >= 1)
            checks.check("scoring goes on and failed deliveries are counted while Alertmanager is down", ok,
                         f"{total(m, 'lstmad_windows_scored_total'):.0f} windows of {40 - LOOKBACK + 1}, "
                         f"{total(m, 'lstmad_alert_deliveries_total', result='failure'):.0f} failed deliveries")
            sock.close()
            checks.check("exit 0 with deliveries pending", daemon.stop() == 0)
    checks.finish()


if __name__ == "__main__":
    main()
