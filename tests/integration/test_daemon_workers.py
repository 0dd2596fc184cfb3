"""Issue 7: the daemon with two scoring workers, for ThreadSanitizer (CI runs
every `-R daemon` integration test on the TSan build) and as a functional
check: two models on two workers, eight client threads sending interleaved
streams at once, /metrics scraped and the configuration reloaded twice by
SIGHUP during the load (the second reload changing a model's threshold).
Nothing is lost: with `overflow: block` every sample is received and every
window scored exactly once, streams keep their windows across reloads, and
the daemon exits 0 on SIGTERM.
"""
import os
import signal
import socket
import threading
import time

from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir

LOOKBACK = 10
CLIENTS = 8
STREAMS_PER_CLIENT = 2
SAMPLES = 120  # per stream


def models(model, threshold=None):
    out = [{"name": "pump", "path": model, "measurement": "pump"},
           {"name": "pump2", "path": model, "measurement": "pump2"}]
    if threshold is not None:
        out[1]["threshold"] = threshold
    return out


def client(port, index, go, reloaded, errors):
    """Sends SAMPLES samples to each of its streams, interleaved, in small
    writes: the first half, then (once `go` is set) the rest, paced; the last
    tenth only once `reloaded` is set, so the second reload lands while
    samples are still arriving however long it takes."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        measurement = "pump" if index % 2 == 0 else "pump2"
        for i in range(SAMPLES):
            if i == SAMPLES // 2 and not go.wait(timeout=60):
                raise OSError("no go signal")
            if i == SAMPLES - SAMPLES // 10 and not reloaded.wait(timeout=120):
                raise OSError("no reloaded signal")
            chunk = "".join(line(measurement, {"pump": f"c{index}s{k}"}, pump_values(i + k))
                            for k in range(STREAMS_PER_CLIENT))
            s.sendall(chunk.encode())
            if i >= SAMPLES // 2:
                time.sleep(0.005)
        s.close()
    except OSError as e:  # reported by the main thread
        errors.append(f"client {index}: {e}")


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=2, samples=600)
        path = os.path.join(d, "lstmad.yaml")
        scoring = "scoring: { workers: 2, max_batch: 4, max_wait_ms: 1, queue_windows: 16, overflow: block }\n"
        cfg = write_config(path, models(model), extra=scoring)
        with Daemon(cfg) as daemon:
            errors, go, reloaded = [], threading.Event(), threading.Event()
            threads = [threading.Thread(target=client, args=(daemon.ingest_port, i, go, reloaded, errors))
                       for i in range(CLIENTS)]
            for t in threads:
                t.start()
            streams = CLIENTS * STREAMS_PER_CLIENT
            # Reloads and scrapes while the streams are half way: the same
            # config once the first halves arrived, then (as the second halves
            # arrive) a new threshold for pump2.
            daemon.wait_for(lambda m: total(m, "lstmad_samples_received_total") == streams * (SAMPLES // 2),
                            timeout=120, what="the first halves")
            daemon.signal(signal.SIGHUP)
            daemon.wait_for(lambda m: m.get('lstmad_config_reloads_total{result="success"}', 0) == 1,
                            what="first reload")
            write_config(path, models(model, threshold=123.5), extra=scoring)
            go.set()
            daemon.signal(signal.SIGHUP)
            try:
                daemon.wait_for(lambda m: m.get('lstmad_config_reloads_total{result="success"}', 0) == 2,
                                what="second reload")
                during = total(daemon.metrics(), "lstmad_samples_received_total") < streams * SAMPLES
            finally:
                reloaded.set()
            for t in threads:
                t.join(timeout=120)
            checks.check("every client finished", not any(t.is_alive() for t in threads) and not errors,
                         "; ".join(errors))
            samples = streams * SAMPLES
            windows = streams * (SAMPLES - LOOKBACK + 1)
            m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") >= windows, timeout=120,
                                what="every window scored")
            checks.check("every sample received", total(m, "lstmad_samples_received_total") == samples,
                         str(total(m, "lstmad_samples_received_total")))
            checks.check("every window scored exactly once (windows kept across reloads)",
                         total(m, "lstmad_windows_scored_total") == windows,
                         f"{total(m, 'lstmad_windows_scored_total'):.0f} of {windows}")
            checks.check("both models scored", all(
                total(m, "lstmad_windows_scored_total", model=name) == windows / 2 for name in ("pump", "pump2")))
            checks.check("nothing dropped or rejected", total(m, "lstmad_windows_dropped_total") == 0 and
                         total(m, "lstmad_samples_rejected_total") == 0)
            checks.check("the reload's threshold is in use",
                         m.get('lstmad_model_threshold{model="pump2"}') == 123.5)
            checks.check("the second reload came while samples were arriving", during)
            checks.check("no reload failed", m.get('lstmad_config_reloads_total{result="failure"}', 0) == 0)
            checks.check("streams tracked", total(m, "lstmad_streams") == streams)
            checks.check("exit 0 on SIGTERM", daemon.stop() == 0)
    checks.finish()


if __name__ == "__main__":
    main()
