"""Issue 18, findings 3, 6, 8 and 12: what happens to streams that go away,
the events file's rotation, and hostile stream names, on the real daemon
with a real Alertmanager (alertmanager_harness).

- A reload that changes a model's lookback drops its streams: their firing
  alert is resolved (Alertmanager and the events file, reason
  model_reshaped) and no longer re-sent, their series leave /metrics, and a
  log line says how many streams were reset and why.
- A stream idle for limits.stream_expiry_s expires with the same effects
  (reason stream_expired), counted in lstmad_streams_expired_total, and the
  state snapshot written at once keeps it from coming back after a crash.
- Moving the events file away and sending SIGHUP writes new events to a new
  file at the configured path.
- A tag holding U+202E is refused (reason format_control) and creates no
  stream.
- A burst of alerts is logged at most 10 lines a second, the next line
  counting the suppressed ones, while the events file gets every event.

The models are tiny and untrained (one epoch); `threshold: 0` makes every
window anomalous, so a stream's alert fires on its `for`-th window.
"""
import datetime
import json
import os
import re
import signal
import time

from alertmanager_harness import am_alerts, start_alertmanager, wait
from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir

FIRE_AFTER = 2


def tiny_model(d, lookback):
    return train_pump_model(d, lookback=lookback, epochs=1, samples=200, encoder="4", decoder="4",
                            name=f"tiny-{lookback}.lstmad")


def config(d, name, model, extra=""):
    return write_config(os.path.join(d, name),
                        [{"name": "pump", "path": model, "measurement": "pump", "threshold": 0,
                          "for": FIRE_AFTER, "clear": 3}], extra=extra)


def send_samples(daemon, stream, count):
    daemon.send("".join(line("pump", {"pump": stream}, pump_values(i)) for i in range(count)))


def read_events(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def log_line(daemon, needle, timeout=10):
    """The first log line with `needle` within `timeout` s, or "" (a failed check, not an error)."""
    try:
        return daemon.wait_for_log(needle, timeout)
    except AssertionError:
        return ""


def series_of(metrics, stream):
    """Every exported series of stream `stream` of model pump."""
    return [k for k in metrics if f'stream="pump,pump={stream}"' in k]


def reshape_test(checks, d, short, long):
    am, am_port = start_alertmanager(os.path.join(d, "am-reshape"))
    try:
        events = os.path.join(d, "reshape-events.jsonl")
        extra = (f"events:\n  path: {events}\nalertmanager:\n  urls: [\"http://127.0.0.1:{am_port}\"]\n"
                 "  resend_interval_s: 1\n")
        cfg = config(d, "reshape.yaml", short, extra)
        with Daemon(cfg) as daemon:
            send_samples(daemon, "x", 5 + FIRE_AFTER)  # fires
            send_samples(daemon, "y", 2)              # a partial window, never scored
            daemon.wait_for(lambda m: m.get('lstmad_stream_anomalous{model="pump",pump="x",stream="pump,pump=x"}') == 1,
                            what="x firing")
            checks.check("before the reload: Alertmanager has x's alert", bool(wait(lambda: am_alerts(am_port))))

            config(d, "reshape.yaml", long, extra)  # lookback 5 -> 6
            daemon.signal(signal.SIGHUP)
            m = daemon.wait_for(lambda m: m.get('lstmad_config_reloads_total{result="success"}', 0) == 1,
                                what="the reload")
            reset = log_line(daemon, "streams reset")
            checks.check("the log says how many streams were reset and why",
                         "model=pump" in reset and "reason=model_reshaped" in reset and " streams=2" in reset and
                         "resolved_alerts=1" in reset, reset)
            m = daemon.metrics()
            checks.check("x's and y's series are gone from /metrics",
                         series_of(m, "x") == [] and series_of(m, "y") == [], str(series_of(m, "x")))
            checks.check("lstmad_streams is 0", m.get('lstmad_streams{model="pump"}') == 0)
            resolved = wait(lambda: not am_alerts(am_port), timeout=15)
            checks.check("Alertmanager receives the resolution", bool(resolved))
            # Two resend intervals later nothing has re-sent it.
            time.sleep(2.5)
            checks.check("the resolved alert is not re-sent", am_alerts(am_port) == [], str(am_alerts(am_port)))
            # The same stream under the new shape starts afresh and can fire again.
            send_samples(daemon, "x", 6 + FIRE_AFTER - 1)
            daemon.wait_for(lambda m: m.get('lstmad_stream_anomalous{model="pump",pump="x",stream="pump,pump=x"}') == 1,
                            what="x firing under the new model")
            checks.check("exit 0", daemon.stop() == 0)
        kinds = [(e["kind"], e["stream"], e.get("reason")) for e in read_events(events)]
        checks.check("the events file: fired, resolved (model_reshaped), fired again",
                     kinds == [("fired", "pump,pump=x", None), ("resolved", "pump,pump=x", "model_reshaped"),
                               ("fired", "pump,pump=x", None)], str(kinds))
        resolved_events = [e for e in read_events(events) if e["kind"] == "resolved"]
        checks.check("the resolved event has no error (no window resolved it)",
                     len(resolved_events) == 1 and resolved_events[0]["error"] is None)
    finally:
        am.terminate()
        am.wait(timeout=10)


def expiry_test(checks, d, short):
    am, am_port = start_alertmanager(os.path.join(d, "am-expiry"))
    try:
        events = os.path.join(d, "expiry-events.jsonl")
        state = os.path.join(d, "expiry-state")
        base = (f"events:\n  path: {events}\nstate: {{ path: {state}, interval: 24h }}\n"
                f"alertmanager:\n  urls: [\"http://127.0.0.1:{am_port}\"]\n  resend_interval_s: 1\n")
        long_cfg = config(d, "expiry-long.yaml", short, base + "limits: { stream_expiry_s: 3600 }\n")
        short_cfg = config(d, "expiry-short.yaml", short, base + "limits: { stream_expiry_s: 1 }\n")
        # 1. x fires and is saved in the shutdown snapshot.
        with Daemon(long_cfg) as daemon:
            send_samples(daemon, "x", 5 + FIRE_AFTER)
            daemon.wait_for(lambda m: m.get('lstmad_stream_anomalous{model="pump",pump="x",stream="pump,pump=x"}') == 1,
                            what="x firing")
            checks.check("x's alert reaches Alertmanager", bool(wait(lambda: am_alerts(am_port))))
            checks.check("exit 0", daemon.stop() == 0)
        # 2. Restored, then idle for 1 s: expired, resolved, counted; then a crash.
        with Daemon(short_cfg) as daemon:
            restored = daemon.wait_for_log("snapshot restored", timeout=10)
            checks.check("the restart restores x, firing", "streams=1" in restored and "firing_alerts=1" in restored,
                         restored)
            ok, m = daemon.poll(lambda m: m.get("lstmad_streams_expired_total{}", 0) == 1, timeout=15)
            checks.check("x expires and is counted", ok, str(m.get("lstmad_streams_expired_total{}")))
            daemon.proc.kill()  # no shutdown snapshot: only the one written at expiry counts
            daemon.proc.wait(timeout=10)
            checks.check("the series of x are gone", series_of(m, "x") == [], str(series_of(m, "x")))
            checks.check("lstmad_streams is 0", m.get('lstmad_streams{model="pump"}') == 0)
            reset = log_line(daemon, "streams reset")
            checks.check("the log says why", "reason=stream_expired" in reset and " streams=1" in reset and
                         "resolved_alerts=1" in reset, reset)
        checks.check("Alertmanager receives the resolution", bool(wait(lambda: not am_alerts(am_port), timeout=15)))
        kinds = [(e["kind"], e.get("reason")) for e in read_events(events)]
        checks.check("the events file: fired, then resolved (stream_expired)",
                     kinds == [("fired", None), ("resolved", "stream_expired")], str(kinds))
        # 3. The next start does not bring x back.
        with Daemon(long_cfg) as daemon:
            restored = daemon.wait_for_log("snapshot restored", timeout=10)
            checks.check("after the crash the snapshot holds no expired stream",
                         "streams=0" in restored and "firing_alerts=0" in restored, restored)
            m = daemon.metrics()
            checks.check("and x has no series", series_of(m, "x") == [] and m.get('lstmad_streams{model="pump"}') == 0)
            checks.check("exit 0", daemon.stop() == 0)
    finally:
        am.terminate()
        am.wait(timeout=10)


def rotation_test(checks, d, short):
    events = os.path.join(d, "rotate-events.jsonl")
    cfg = config(d, "rotate.yaml", short, f"events:\n  path: {events}\n")
    with Daemon(cfg) as daemon:
        send_samples(daemon, "before", 5 + FIRE_AFTER)
        checks.check("the first alert is written", bool(wait(lambda: read_events(events), timeout=15)))
        os.rename(events, events + ".1")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for(lambda m: m.get('lstmad_config_reloads_total{result="success"}', 0) == 1, what="the reload")
        send_samples(daemon, "after", 5 + FIRE_AFTER)
        checks.check("after mv and SIGHUP, new events go to a new file at the path",
                     bool(wait(lambda: read_events(events), timeout=15)))
        checks.check("exit 0", daemon.stop() == 0)
    old = [e["stream"] for e in read_events(events + ".1")]
    new = [e["stream"] for e in read_events(events)]
    checks.check("the moved file has only the earlier event", old == ["pump,pump=before"], str(old))
    checks.check("the new file has only the later event", new == ["pump,pump=after"], str(new))
    checks.check("the new file is created 0640", os.stat(events).st_mode & 0o777 == 0o640,
                 oct(os.stat(events).st_mode & 0o777))


def hostile_names_test(checks, d, short):
    events = os.path.join(d, "flood-events.jsonl")
    cfg = config(d, "flood.yaml", short, f"events:\n  path: {events}\n")
    with Daemon(cfg) as daemon:
        # U+202E in a tag value would display "pump=x\u202egnp.exe" as another name.
        daemon.send(line("pump", {"pump": "x\u202egnp.exe"}, pump_values(0)).encode())
        ok, m = daemon.poll(lambda m: total(m, "lstmad_samples_rejected_total", reason="format_control") == 1)
        checks.check("a tag with U+202E is refused as format_control", ok,
                     str(total(m, "lstmad_samples_rejected_total", reason="format_control")))
        checks.check("and creates no stream", m.get('lstmad_streams{model="pump"}', 0) == 0 and
                     total(m, "lstmad_samples_received_total") == 0)
        checks.check("the reject log names the code point", daemon.logged("Unicode format control U+202E in tag value"))
        # 40 streams firing at once: at most 10 alert lines a second.
        streams = 40
        daemon.send("".join(line("pump", {"pump": f"f{k}"}, pump_values(i)) for i in range(5 + FIRE_AFTER)
                            for k in range(streams)))
        checks.check("every alert reaches the events file",
                     bool(wait(lambda: len(read_events(events)) == streams, timeout=60)), str(len(read_events(events))))
        # An alert is logged (or left out) before its event is written, so the
        # flood is over: a line a second on from its last is in a new second.
        time.sleep(1.1)
        send_samples(daemon, "late", 5 + FIRE_AFTER)
        late = log_line(daemon, "pump,pump=late", timeout=30)
        # Log lines reach the reader thread in order, a little late: once the
        # late alert's line is in, every line of the flood is too.
        logged = [x for x in daemon.logs() if "alert fired" in x and "pump,pump=late" not in x]
        # At most 10 a second: the flood's logged lines span `span` s of the
        # lines' own timestamps, so they fall in at most floor(span) + 2 of the
        # limiter's seconds (2 when the flood took under a second, as usual).
        stamps = [datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp()
                  for m in (re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ", x) for x in logged) if m]
        span = max(stamps) - min(stamps) if len(stamps) == len(logged) and stamps else 0.0
        seconds = int(span + 0.01) + 2  # + 10 ms: the timestamps' milliseconds, and their taking after the limiter
        checks.check(f"at most 10 alert lines a second were logged ({10 * seconds} over the flood's {span:.2f} s)",
                     10 <= len(logged) <= 10 * seconds and len(stamps) == len(logged), str(len(logged)))
        # A flood that straddles a second's boundary says so in two lines:
        # every suppressed= count together accounts for each line left out.
        counts = [int(m) for x in logged + [late] for m in re.findall(r" suppressed=(\d+)", x)]
        checks.check("the next alert line counts the suppressed ones",
                     " suppressed=" in late and sum(counts) == streams - len(logged), f"{counts} {late}")
        checks.check("exit 0", daemon.stop() == 0)


def main():
    checks = Checks()
    with tempdir() as d:
        short, long = tiny_model(d, 5), tiny_model(d, 6)
        reshape_test(checks, d, short, long)
        expiry_test(checks, d, short)
        rotation_test(checks, d, short)
        hostile_names_test(checks, d, short)
    checks.finish()


if __name__ == "__main__":
    main()
