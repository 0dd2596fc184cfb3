"""Daemon acceptance 4 and 5: SIGHUP with a broken config keeps the old one;
with a good one it switches models without dropping connections. SIGTERM
mid-stream scores every sample received before it and exits 0.
"""
import os
import re
import signal
import time

from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir

LOOKBACK = 10


def reload_test(checks, d, model):
    cfg = os.path.join(d, "reload.yaml")
    write_config(cfg, [{"name": "pump", "path": model, "measurement": "pump", "threshold": 0.5}])
    with Daemon(cfg) as daemon:
        sock = daemon.connect()
        for i in range(12):
            sock.sendall(line("pump", {"pump": "r"}, pump_values(i)).encode())
        daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") == 3, what="first windows")

        with open(cfg, "w") as f:
            f.write("models:\n  - name: pump\n    path: /nonexistent/model.lstmad\n    measurement: pump\n")
        daemon.signal(signal.SIGHUP)
        ok, m = daemon.poll(lambda m: m.get('lstmad_config_reloads_total{result="failure"}', 0) == 1)
        checks.check("a broken config is refused and counted", ok,
                     f"{total(m, 'lstmad_config_reloads_total', result='failure'):.0f} failed reloads")
        checks.check("the reason is logged", daemon.logged("reload failed") and
                     any("reload failed" in x and "models[0].path" in x for x in daemon.logs()))
        checks.check("the old threshold is kept", m.get('lstmad_model_threshold{model="pump"}') == 0.5)
        sock.sendall(line("pump", {"pump": "r"}, pump_values(12)).encode())
        ok, m = daemon.poll(lambda m: total(m, "lstmad_windows_scored_total") == 4)
        checks.check("scoring goes on after a failed reload", ok,
                     f"{total(m, 'lstmad_windows_scored_total'):.0f} windows of 4")

        write_config(cfg, [{"name": "pump", "path": model, "measurement": "pump", "threshold": 0.25}])
        daemon.signal(signal.SIGHUP)
        m = daemon.wait_for(lambda m: m.get('lstmad_config_reloads_total{result="success"}', 0) == 1,
                            what="successful reload")
        checks.check("a good config switches", m.get('lstmad_model_threshold{model="pump"}') == 0.25)
        # Same connection, same stream: no reconnect, and the window carries on.
        sock.sendall(line("pump", {"pump": "r"}, pump_values(13)).encode())
        m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") == 5, what="scoring after reload")
        checks.check("the connection survives the reload and the stream keeps its window",
                     m.get("lstmad_connections{}") == 1, str(m.get("lstmad_connections{}")))
        sock.close()
        checks.check("exit 0", daemon.stop() == 0)


def sigterm_test(checks, d, model):
    # Long batching waits so that windows are still queued when SIGTERM comes.
    cfg = write_config(os.path.join(d, "term.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                       extra="scoring: { max_batch: 100000, max_wait_ms: 10000 }\n")
    with Daemon(cfg) as daemon:
        streams, samples = 50, 30
        sock = daemon.connect()
        for i in range(samples):
            sock.sendall("".join(line("pump", {"pump": f"t{k}"}, pump_values(i, k)) for k in range(streams)).encode())
        daemon.wait_for(lambda m: total(m, "lstmad_samples_received_total") == streams * samples,
                        what="all samples received")
        scored_before = total(daemon.metrics(), "lstmad_windows_scored_total")
        daemon.signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=30)
        time.sleep(0.2)
        stopped = daemon.wait_for_log("stopped", timeout=5)
        expected = streams * (samples - LOOKBACK + 1)
        scored = int(re.search(r"windows_scored=(\d+)", stopped).group(1))
        received = int(re.search(r"samples_received=(\d+)", stopped).group(1))
        checks.check("windows were still queued at SIGTERM", scored_before < expected, f"{scored_before:.0f} scored before")
        checks.check("every received sample is scored before exit", scored == expected and received == streams * samples,
                     f"{scored} windows of {expected}")
        checks.check("SIGTERM exits 0", code == 0, str(code))


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK)
        reload_test(checks, d, model)
        sigterm_test(checks, d, model)
    checks.finish()


if __name__ == "__main__":
    main()
