"""The daemon's per-stream anomaly score and adaptive threshold are the ones
`lstmad score` computes offline for the same series (one StreamDetector per
stream, self-calibrated on its first windows): lstmad_stream_anomaly_score
is compared window by window with the CLI's anomaly_score column, an onset
scores >= 0.5 once per excursion, and with `detector.threshold: spot` (or
`likelihood`, the default, when the script's argument says so) the alert
fires on the detector's threshold (recorded in the event) rather than the
model's. A model with `anomaly_score: false` exports no score series. The
daemon is restarted (SIGTERM, snapshot) midway, after calibration, and
its configuration reloaded (SIGHUP, the model file unchanged) just before
the excursion: the detectors' state survives both, so the scores still
equal the uninterrupted offline run's. The alert verdict is one too: every fired/resolved event in
the daemon's events file falls on the window where the CLI's `alert` column
(same model, detector and alert for/clear) turns 1 or 0, and no other
window changes it. With the likelihood the alert rule is the default (for 3),
and the series holds a lone alarming window that hysteresis stretches over
the next two (Detection::held): neither the CLI nor the daemon fires on it,
where a plain for/clear count over the `anomaly` column would.

With the argument `likelihood_per_time` the likelihood's risk is per 20 ms
of the stream's time (detector.likelihood_risk_per, score's
--likelihood-risk-per): the daemon takes each stream's sampling interval
from its windows' timestamps, the CLI from the CSV's timestamp column (the
same instants), and both turn 1e-4 per 20 ms into 5e-3 per window at one
sample a second. (A real setting is rather 1e-4 per 5m for fast streams; a
risk this high is what makes the alerts move: the fault's errors are far
past any low risk at once.) The alert transitions then differ from the
per-window risk's, one of them after the restart (the risk travels in the
snapshot), and the daemon's still equal the CLI's.

With the argument `likelihood_accept` the likelihood takes a change that
has alarmed for 4 windows in a row as the new normal
(detector.likelihood_accept_after, score's --likelihood-accept-after): the
fault's alert resolves while the fault goes on, in the CLI and the daemon
alike, and the daemon's resolved event says why (reason change_accepted,
counted by lstmad_changes_accepted_total).
"""
import datetime
import json
import os
import random
import signal
import sys

from daemon_harness import Daemon, feed_until, line, pump_values, total, train_pump_model, write_config, write_pump_csv
from lstmad_cli import Checks, read_csv, run, tempdir

LOOKBACK = 10
CALIBRATION = 120
NORMAL, FAULT, AFTER = 300, 12, 40
VARIANT = sys.argv[1] if len(sys.argv) > 1 else "spot"
PER_TIME = VARIANT == "likelihood_per_time"
ACCEPT = VARIANT == "likelihood_accept"
MODE = "likelihood" if PER_TIME or ACCEPT else VARIANT  # detector.threshold and score's --threshold-mode
RISK_PER = "0.02s"  # detector.likelihood_risk_per with PER_TIME
ACCEPT_AFTER = 4  # detector.likelihood_accept_after with ACCEPT
DETECTOR = "{ threshold: %s, calibration_windows: %d, max_peaks: 200%s%s }" % (
    MODE, CALIBRATION, f", likelihood_risk_per: {RISK_PER}" if PER_TIME else "",
    f", likelihood_accept_after: {ACCEPT_AFTER}" if ACCEPT else "")
# score's flags for the same setting.
VARIANT_FLAGS = (["--likelihood-risk-per", RISK_PER] if PER_TIME else
                 ["--likelihood-accept-after", ACCEPT_AFTER] if ACCEPT else [])
# models[].alert and score's --alert-for/--alert-clear: for 1 with SPOT, so that
# a single novel value fires too (below); the default, 3, with the likelihood.
ALERT_FOR, ALERT_CLEAR = (3 if MODE == "likelihood" else 1), 3
T0 = 1_700_000_000_000_000_000  # the first sample's timestamp, ns
# The vibration runs 0.26 to 0.74 here (a sine, 0.5 +- 0.2, and noise): 0.77
# is beyond 0.74 by more than 5% of that range, not beyond 0.78.
VIBRATION_FIRST, VIBRATION_NEAR_FIRST = 0.78, 0.77
NEAR_FIRST = 194  # a window past calibration whose newest sample is a crest


def rfc3339_ns(text):
    """ns since the epoch of the events file's "2023-11-14T22:13:20.000000000Z"."""
    whole, _, frac = text.rstrip("Z").partition(".")
    seconds = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(seconds.timestamp()) * 10**9 + int(frac.ljust(9, "0"))


def window_of(end_ns):
    """The window whose last sample has this timestamp (samples are 1 s apart from T0)."""
    return (end_ns - T0) // 10**9 - LOOKBACK + 1


def column_transitions(alert):
    """(kind, window) wherever the alert column changes, starting from not firing."""
    out, prev = [], 0
    for w, a in enumerate(alert):
        if a != prev:
            out.append(("fired" if a else "resolved", w))
        prev = a
    return out


def plain_alert_column(verdicts):
    """The alert state after each window from for/clear counts over `verdicts`
    alone (core::AlertState without the held flag)."""
    firing, run_, out = False, 0, []
    for v in verdicts:
        if bool(v) == firing:
            run_ = 0
        else:
            run_ += 1
            if run_ >= (ALERT_CLEAR if firing else ALERT_FOR):
                firing, run_ = not firing, 0
        out.append(int(firing))
    return out


def series():
    rng = random.Random(11)
    values = [pump_values(i, 0.3, rng) for i in range(NORMAL + FAULT + AFTER)]
    for i in range(NORMAL, NORMAL + FAULT):
        values[i][3] += 45.0  # a flow excursion
    # The vibration's highest value comes before the first window's newest
    # sample, at a crest of its sine; window NEAR_FIRST's newest sample, at a
    # later crest, comes near it, beyond every other value: novel unless the
    # detector's range holds the first window's earlier samples, as the CLI's
    # holds the series' first rows.
    values[3][2] = VIBRATION_FIRST
    values[NEAR_FIRST + LOOKBACK - 1][2] = VIBRATION_NEAR_FIRST
    return values


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK)
        values = series()
        # The samples' instants (T0 + i s, as sent below), as epoch seconds.
        times = [str(T0 // 10**9 + i) for i in range(len(values))]
        csv = write_pump_csv(os.path.join(d, "series.csv"), values, times)
        # The offline reference: the same detector settings as the config's.
        score = ["score", "--model", model, "--data", csv, "--threshold-mode", MODE,
                 "--calibration", CALIBRATION, "--spot-max-peaks", 200,
                 "--alert-for", ALERT_FOR, "--alert-clear", ALERT_CLEAR]
        out = run(*score, *VARIANT_FLAGS).stdout
        header, rows = read_csv(out)
        if PER_TIME or ACCEPT:
            plain_rows = read_csv(run(*score).stdout)[1]
            what = f"a risk per {RISK_PER}" if PER_TIME else f"accepting a change after {ACCEPT_AFTER} windows"
            checks.check(f"{what} moves the CLI's alert transitions (from the defaults')",
                         column_transitions([int(r[-1]) for r in plain_rows]) !=
                         column_transitions([int(r[-1]) for r in rows]),
                         f"{column_transitions([int(r[-1]) for r in plain_rows])}")
        want = [float(r[header.index("anomaly_score")]) for r in rows]
        checks.check("alert is score's last column", header[-1] == "alert", str(header))
        alert = [int(r[header.index("alert")]) for r in rows]
        checks.check("the CLI scores every window", len(want) == len(values) - LOOKBACK + 1, str(len(want)))
        if MODE == "likelihood" and not PER_TIME and not ACCEPT:
            plain = plain_alert_column([int(r[header.index("anomaly")]) for r in rows])
            checks.check("a window held by hysteresis starts no alert that for/clear alone would start",
                         column_transitions(plain) != column_transitions(alert),
                         f"plain {column_transitions(plain)} cli {column_transitions(alert)}")
        checks.check(f"a value within the range of the first rows is not novel (window {NEAR_FIRST})",
                     want[NEAR_FIRST] < 0.5, str(want[NEAR_FIRST]))

        events = os.path.join(d, "events.jsonl")
        state = os.path.join(d, "state")
        cfg = write_config(os.path.join(d, "lstmad.yaml"),
                           [{"name": "pump", "path": model, "measurement": "pump", "for": ALERT_FOR, "clear": ALERT_CLEAR,
                             "detector": DETECTOR},
                            {"name": "quiet", "path": model, "measurement": "quiet",
                             "detector": "{ anomaly_score: false }"}],
                           extra=f"events:\n  path: {events}\nstate:\n  path: {state}\n")
        # Windows after which the gauge is compared: through calibration, the
        # excursion's every window, and the return to normal.
        probes = sorted({50, CALIBRATION - 1, CALIBRATION, NEAR_FIRST, 200, NORMAL - LOOKBACK} |
                        set(range(NORMAL - LOOKBACK + 1, NORMAL + FAULT + 2)) | {len(want) - 1})
        key = 'lstmad_stream_anomaly_score{model="pump",pump="a",stream="pump,pump=a"}'
        got = {}
        t0 = T0
        restart_after = 200  # a window past calibration (120)
        sent = 0
        with Daemon(cfg) as daemon:
            sock = daemon.connect()
            for w in [p for p in probes if p <= restart_after]:
                sent = feed_until(daemon, sock, values, sent, w, 0, LOOKBACK, t0)
                got[w] = daemon.metrics().get(key)
            sock.close()
            checks.check("first daemon exits 0", daemon.stop() == 0)
        with Daemon(cfg) as daemon:
            daemon.wait_for_log("snapshot restored")
            sock = daemon.connect()
            for w in [p for p in probes if p > restart_after]:
                if w == NORMAL - LOOKBACK:
                    # A reload builds the model anew from the same file: its
                    # errors are the ones the detectors judged, and they carry on.
                    before = len(daemon.logs())
                    daemon.signal(signal.SIGHUP)
                    daemon.wait_for_log("configuration reloaded", start=before)
                sent = feed_until(daemon, sock, values, sent, w, restart_after + 1, LOOKBACK, t0)
                got[w] = daemon.metrics().get(key)
            sock.sendall("".join(line("quiet", {"q": "1"}, values[i]) for i in range(LOOKBACK + 2)).encode())
            m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total", model="quiet") >= 3,
                                what="quiet windows scored")
            checks.check("no score series for a model with anomaly_score: false",
                         not any(k.startswith("lstmad_stream_anomaly_score") and 'model="quiet"' in k for k in m))
            accepted_total = total(m, "lstmad_changes_accepted_total", model="pump")
            sock.close()
            checks.check("daemon exits 0", daemon.stop() == 0)

        worst = max(abs(got[w] - want[w]) if got[w] is not None else 1.0 for w in probes)
        checks.check("daemon scores equal the CLI's for every probed window", worst < 1e-4, f"max diff {worst:.2e}")
        onsets = [w for w in probes if got[w] is not None and got[w] >= 0.5]
        checks.check("one onset (score >= 0.5), inside the excursion",
                     len(onsets) == 1 and NORMAL - LOOKBACK < onsets[0] <= NORMAL, str(onsets))
        checks.check("scores lie in [0, 1]", all(g is not None and 0 <= g <= 1 for g in got.values()))

        with open(events) as f:
            records = [json.loads(x) for x in f if x.strip()]
        daemon_transitions = [(r["kind"], window_of(rfc3339_ns(r["window_end"])))
                              for r in records if r["model"] == "pump"]
        cli_transitions = column_transitions(alert)
        checks.check("the CLI's alert column fires and resolves", len(cli_transitions) >= 2, str(cli_transitions))
        checks.check("every alert transition at the same window in the daemon and the CLI",
                     daemon_transitions == cli_transitions,
                     f"daemon {daemon_transitions} cli {cli_transitions}")
        # Only an alert whose change the detector accepted says so when it
        # resolves, and the counter counts it (after the restart, where the
        # fault is).
        accepted = [window_of(rfc3339_ns(r["window_end"])) for r in records
                    if r["model"] == "pump" and r.get("reason") == "change_accepted"]
        other_reasons = [r for r in records if r.get("reason") not in (None, "change_accepted")]
        checks.check("no resolution of a window gives another reason", not other_reasons, str(other_reasons))
        if ACCEPT:
            resolved = [w for kind, w in daemon_transitions if kind == "resolved" and w > NORMAL - LOOKBACK]
            checks.check("the fault's alert resolves as a change accepted",
                         len(resolved) >= 1 and accepted == resolved[:1], f"accepted {accepted} resolved {resolved}")
        else:
            checks.check("no alert resolves as a change accepted", not accepted, str(accepted))
        checks.check("lstmad_changes_accepted_total counts the accepted changes",
                     accepted_total == len(accepted), f"{accepted_total} against {len(accepted)}")
        # With alert.for 1 a single novel value (a new extreme of a feature,
        # docs/detection.md "Novel values") fires too; the excursion's own
        # windows fire once, whatever the rule.
        fired = [r for r in records if r["model"] == "pump" and r["kind"] == "fired" and
                 NORMAL - LOOKBACK < window_of(rfc3339_ns(r["window_end"])) <= NORMAL + FAULT]
        checks.check("the excursion fired one alert", len(fired) == 1, str(daemon_transitions))
        model_threshold = float(rows[0][header.index("threshold")])
        if fired:
            checks.check(f"its threshold is the {MODE} detector's, not the model's fixed one",
                         abs(fired[0]["threshold"] - model_threshold) > 1e-9 * max(1, model_threshold),
                         f"event {fired[0]['threshold']} model {model_threshold}")
    checks.finish()


if __name__ == "__main__":
    main()
