"""Daemon acceptance 1: normal data raises no alert; an injected spike, level
shift or frozen sensor fires that stream's alert within `for` windows and
resolves after it ends; no other stream's state changes. Checked through
/metrics and the events file.
"""
import json
import os

from daemon_harness import FEATURES, Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir

LOOKBACK = 10
FIRE_AFTER, CLEAR_AFTER = 3, 3
NORMAL_BEFORE, FAULT_LEN, NORMAL_AFTER = 60, 25, 60
STREAMS = ["p0", "p1", "p2", "p3"]  # p1: spike, p2: level shift, p3: frozen; p0 stays normal


def series(stream):
    """Samples of one stream: normal, a fault (for p1..p3), normal again."""
    phase = STREAMS.index(stream) * 0.7
    n = NORMAL_BEFORE + FAULT_LEN + NORMAL_AFTER
    values = [pump_values(i, phase) for i in range(n)]
    fault = range(NORMAL_BEFORE, NORMAL_BEFORE + FAULT_LEN)
    for i in fault:
        if stream == "p1" and i == NORMAL_BEFORE:
            values[i][1] += 8.0  # pressure spike
        elif stream == "p2":
            values[i][3] += 60.0  # flow level shift
        elif stream == "p3":
            values[i][0] = values[NORMAL_BEFORE - 1][0]  # temperature frozen
    return values


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK)
        events = os.path.join(d, "events.jsonl")
        cfg = write_config(os.path.join(d, "lstmad.yaml"),
                           [{"name": "pump", "path": model, "measurement": "pump",
                             "for": FIRE_AFTER, "clear": CLEAR_AFTER}],
                           extra=f"events:\n  path: {events}\n")
        data = {s: series(s) for s in STREAMS}
        n = len(data["p0"])
        with Daemon(cfg) as daemon:
            sock = daemon.connect()
            t0 = 1_700_000_000_000_000_000
            for i in range(n):  # interleaved, as sensors send
                sock.sendall("".join(line("pump", {"pump": s}, data[s][i], ts=t0 + i * 10**9)
                                     for s in STREAMS).encode())
            expected = len(STREAMS) * (n - LOOKBACK + 1)
            m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") >= expected,
                                what="all windows scored")
            checks.check("every window scored", total(m, "lstmad_windows_scored_total") == expected)
            for s in STREAMS:
                key = f"pump,pump={s}"
                fired = m.get(f'lstmad_stream_anomalies_total{{model="pump",pump="{s}",stream="{key}"}}', 0)
                state = m.get(f'lstmad_stream_anomalous{{model="pump",pump="{s}",stream="{key}"}}', -1)
                want = 0 if s == "p0" else 1
                checks.check(f"{s}: fired {want} time(s)", fired == want, f"anomalies_total={fired}")
                checks.check(f"{s}: resolved by the end", state == 0, f"anomalous={state}")
            sock.close()
            code = daemon.stop()
            checks.check("daemon exits 0 on SIGTERM", code == 0, str(code))

        with open(events) as f:
            records = [json.loads(x) for x in f if x.strip()]
        by_stream = {}
        for r in records:
            by_stream.setdefault(r["stream"], []).append(r)
        checks.check("no events for the normal stream", "pump,pump=p0" not in by_stream)
        for s in STREAMS[1:]:
            evs = by_stream.get(f"pump,pump={s}", [])
            checks.check(f"{s}: one fired then one resolved event", [e["kind"] for e in evs] == ["fired", "resolved"],
                         str([e["kind"] for e in evs]))
            if len(evs) != 2:
                continue
            fired, resolved = evs
            # Window k (0-based) ends at sample k + T - 1; its end timestamp tells which sample completed it.
            end_index = lambda e: round((iso_ns(e["window_end"]) - t0) / 1e9)
            first_faulty_end = NORMAL_BEFORE  # the first window that contains the fault ends there
            fault_end = NORMAL_BEFORE + (1 if s == "p1" else FAULT_LEN) - 1
            if s == "p3":
                # A frozen sensor looks normal at first; it must fire while frozen.
                ok = first_faulty_end + FIRE_AFTER - 1 <= end_index(fired) <= fault_end
            else:
                # The first window holding the fault is already anomalous: it fires
                # exactly `for` windows later.
                ok = end_index(fired) == first_faulty_end + FIRE_AFTER - 1
            checks.check(f"{s}: fired within `for` windows of the fault", ok,
                         f"fired at the window ending at sample {end_index(fired)}")
            checks.check(f"{s}: resolved after the fault left the window",
                         end_index(resolved) >= fault_end + 1, f"resolved at {end_index(resolved)}")
            checks.check(f"{s}: the event names the faulty feature first",
                         fired["top_features"][0]["feature"] == {"p1": "pressure", "p2": "flow", "p3": "temperature"}[s],
                         str(fired["top_features"]))
            checks.check(f"{s}: event has error above threshold", fired["error"] > fired["threshold"])
    checks.finish()


def iso_ns(text):
    """RFC 3339 UTC with optional fraction -> ns since the epoch."""
    import datetime
    main_part, _, frac = text.rstrip("Z").partition(".")
    dt = datetime.datetime.strptime(main_part, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 10**9 + int((frac or "0").ljust(9, "0")[:9])


if __name__ == "__main__":
    main()
