"""Golden /metrics: the exposition after a fixed scenario (metrics_scenario.py:
valid samples of two streams with explicit timestamps, rejected lines of
every reason, one alert fired and resolved, one still firing) must match
tests/golden/metrics_scenario.prom byte for byte, after normalisation. It
pins everything a user of /metrics sees (family names, HELP and TYPE lines,
label sets, series and family order, counts, rejections, alert states), so a
restructuring of the daemon that changes any of it fails here with a unified
diff.

Normalisation, the one rule applied to both sides before comparing: each
sample line keeps its name and labels, except
  - the value of every `_bucket` and `_sum` sample of the histograms that
    measure time (TIMED below) becomes `<t>` (their `_count` stays exact);
  - the value of samples computed from the model's floating-point output
    (MODEL_OUTPUT below) is rounded to 6 significant digits, because
    -march=native builds on different CPUs may differ in the last bits;
  - label values naming the scenario's scratch directory say `<dir>` instead,
    and lstmad_build_info's `version` label says `<version>` (it changes with
    every release, not with behaviour).
Comment lines (HELP, TYPE) are compared as they are.

LSTMAD_UPDATE_GOLDEN=1 rewrites the golden file from the binary under test
(LSTMAD_BIN) instead of comparing; the committed file was written by a
build of the main branch before the daemon's restructuring.
"""
import difflib
import os
import re
import sys

import metrics_scenario
from lstmad_cli import REPO, tempdir

GOLDEN = os.path.join(REPO, "tests", "golden", "metrics_scenario.prom")
TIMED = ("lstmad_inference_duration_seconds", "lstmad_sample_to_score_seconds")
MODEL_OUTPUT = ("lstmad_stream_reconstruction_error", "lstmad_stream_anomaly_score",
                "lstmad_reconstruction_error_sum")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')


def normalise(text, workdir):
    out = []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if line.startswith("#") or not m:
            out.append(line)
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if any(name in (f + "_bucket", f + "_sum") for f in TIMED):
            value = "<t>"
        elif name in MODEL_OUTPUT:
            value = f"{float(value):.6g}"
        for d in {workdir, os.path.realpath(workdir)}:
            labels = labels.replace(d + "/", "<dir>/")
        if name == "lstmad_build_info":
            labels = re.sub(r'version="(?:[^"\\]|\\.)*"', 'version="<version>"', labels)
        out.append(f"{name}{labels} {value}")
    return "\n".join(out) + "\n"


def main():
    with tempdir() as d:
        text, logs = metrics_scenario.run(d)
        actual = normalise(text, d)
    if os.environ.get("LSTMAD_UPDATE_GOLDEN") == "1":
        with open(GOLDEN, "w") as f:
            f.write(actual)
        print(f"wrote {GOLDEN} ({len(actual.splitlines())} lines)")
        return 0
    with open(GOLDEN) as f:
        expected = f.read()
    if actual == expected:
        print(f"ok   /metrics matches {os.path.relpath(GOLDEN, REPO)} ({len(actual.splitlines())} lines)")
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True),
        fromfile=os.path.relpath(GOLDEN, REPO), tofile="/metrics (normalised)"))
    print("FAIL /metrics differs from the golden file (diff above); if the change is intended, "
          "rerun with LSTMAD_UPDATE_GOLDEN=1 and review the file's diff")
    print("daemon log (last lines):\n" + "\n".join(logs[-20:]))
    return 1


if __name__ == "__main__":
    sys.exit(main())
