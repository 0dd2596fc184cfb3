"""Issue 7: an unwritable events path is logged and counted, and ingestion and
alerting go on (the alert still reaches the log and /metrics)."""
import os

from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=10)
        os.makedirs(os.path.join(d, "ro"))
        os.chmod(os.path.join(d, "ro"), 0o500)
        path = "/proc/self/lstmad-cannot-write-here/events.jsonl"
        cfg = write_config(os.path.join(d, "lstmad.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                           extra=f"events: {{ path: {path} }}\n")
        with Daemon(cfg) as daemon:
            checks.check("the daemon starts and says why there is no events file",
                         any("cannot open the events file" in x for x in daemon.logs()))
            checks.check("the failure is counted", total(daemon.metrics(), "lstmad_event_write_failures_total") >= 1)
            sock = daemon.connect()
            for i in range(40):
                v = pump_values(i)
                if 20 <= i < 30:
                    v[3] += 60.0
                sock.sendall(line("pump", {"pump": "x"}, v).encode())
            daemon.wait_for(lambda m: total(m, "lstmad_stream_anomalies_total") == 1, what="the alert")
            checks.check("alerts still fire (metrics and log)", daemon.logged("alert fired"))
            # The alert fires mid-series: the later windows may still be in the scoring queue.
            ok, m = daemon.poll(lambda m: total(m, "lstmad_windows_scored_total") >= 31)
            checks.check("every window scored", ok and total(m, "lstmad_windows_scored_total") == 31,
                         str(total(m, "lstmad_windows_scored_total")))
            sock.close()
            checks.check("exit 0", daemon.stop() == 0)
    checks.finish()


if __name__ == "__main__":
    main()
