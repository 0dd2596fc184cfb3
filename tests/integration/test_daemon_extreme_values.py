"""Issue 18, finding 1: five samples of 1e20 on a stream (finite as float32,
but they overflowed the window's error) made that stream's detector NaN for
good, and a real fault 155 samples later never fired. Now such a sample is
refused (`out_of_range`, counted and logged), and the fault fires on the
attacked stream exactly as on a clean twin: same window, same count.

Two models on the same file: `pump` with the default detector (the fault comes
during its warm-up, where the model's threshold decides) and `pumpcal`, whose
detector has calibrated before the fault. Each gets a clean and an attacked
stream with identical samples and timestamps.
"""
import json
import os

from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir

LOOKBACK = 10
ATTACK_AT, ATTACK_SAMPLES, FAULT_AFTER, FAULT_LEN, NORMAL_AFTER = 20, 5, 155, 25, 60
FAULT_AT = ATTACK_AT + FAULT_AFTER
N = FAULT_AT + FAULT_LEN + NORMAL_AFTER
MODELS = ["pump", "pumpcal"]
T0 = 1_700_000_000_000_000_000


def series():
    values = [pump_values(i) for i in range(N)]
    for i in range(FAULT_AT, FAULT_AT + FAULT_LEN):
        values[i][0] += 40.0   # temperature +40 °C
        values[i][3] -= 60.0   # flow -60
    return values


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK)
        events = os.path.join(d, "events.jsonl")
        cfg = write_config(os.path.join(d, "lstmad.yaml"),
                           [{"name": "pump", "path": model, "measurement": "pump"},
                            {"name": "pumpcal", "path": model, "measurement": "pumpcal",
                             "detector": "{ calibration_windows: 100 }"}],
                           extra=f"events:\n  path: {events}\n")
        values = series()
        with Daemon(cfg) as daemon:
            sock = daemon.connect()
            for i in range(N):
                text = ""
                for m in MODELS:
                    for s in ("clean", "attacked"):
                        text += line(m, {"pump": s}, values[i], ts=T0 + i * 10**9)
                    if i == ATTACK_AT:
                        for k in range(ATTACK_SAMPLES):
                            bad = list(values[i])
                            bad[0] = 1e20
                            text += line(m, {"pump": "attacked"}, bad, ts=T0 + i * 10**9 + k + 1)
                sock.sendall(text.encode())
            expected = len(MODELS) * 2 * (N - LOOKBACK + 1)
            m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") >= expected,
                                what="every window scored")
            checks.check("every window of the four streams scored",
                         total(m, "lstmad_windows_scored_total") == expected,
                         f"{total(m, 'lstmad_windows_scored_total'):.0f} of {expected}")
            rejected = total(m, "lstmad_samples_rejected_total", reason="out_of_range")
            checks.check("the 1e20 samples are refused as out_of_range",
                         rejected == len(MODELS) * ATTACK_SAMPLES, f"{rejected}")
            checks.check("the refusal is logged",
                         daemon.logged('sample rejected reason=out_of_range'))
            checks.check("no window's error was non-finite",
                         total(m, "lstmad_windows_nonfinite_total") == 0,
                         f"{total(m, 'lstmad_windows_nonfinite_total')}")
            for name in MODELS:
                for s in ("clean", "attacked"):
                    key = f"{name},pump={s}"
                    fired = m.get(f'lstmad_stream_anomalies_total{{model="{name}",pump="{s}",stream="{key}"}}', 0)
                    state = m.get(f'lstmad_stream_anomalous{{model="{name}",pump="{s}",stream="{key}"}}', -1)
                    checks.check(f"{key}: the fault fired once", fired == 1, f"anomalies_total={fired}")
                    checks.check(f"{key}: resolved by the end", state == 0, f"anomalous={state}")
            sock.close()
            checks.check("daemon exits 0 on SIGTERM", daemon.stop() == 0)

        with open(events) as f:
            records = [json.loads(x) for x in f if x.strip()]
        for name in MODELS:
            got = {s: [(e["kind"], e["window_end"]) for e in records if e["stream"] == f"{name},pump={s}"]
                   for s in ("clean", "attacked")}
            checks.check(f"{name}: the attacked stream's events are the clean stream's (same windows)",
                         got["attacked"] == got["clean"] and [k for k, _ in got["clean"]] == ["fired", "resolved"],
                         str(got))
    checks.finish()


if __name__ == "__main__":
    main()
