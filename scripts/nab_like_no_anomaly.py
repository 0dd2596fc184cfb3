#!/usr/bin/python3
"""Writes series like NAB's artificialNoAnomaly category (which
../shared/datasets/nab does not hold), in NAB's layout, so that
scripts/evaluate_nab.sh runs them as it runs NAB:

  nab_like_no_anomaly.py OUT_DIR [SEED]
  NAB=OUT_DIR scripts/evaluate_nab.sh RESULTS_DIR [evaluate-stream flags]

OUT_DIR/data/artificialNoAnomaly/<name>.csv (`timestamp,value`, one value
every 5 minutes, 4032 rows: NAB's 14 days) and OUT_DIR/combined_windows.json
(no window in any file: every alarm is a false positive). Our own versions of
NAB's five, built on NAB's daily shape (about 20 at night, about 80 from
9:00 to 18:00); fixed seed (default 7), standard library only:
  art_flatline                   a constant
  art_daily_perfect_square_wave  the daily shape, exact
  art_daily_no_noise             the daily shape plus a daily sine, exact
  art_daily_small_noise          the daily shape + N(0, 2)
  art_noisy                      N(50, 10)
The three exact series have no noise at all: their errors repeat every day,
so they show whatever a change of model does to the detector.
"""
import json
import math
import os
import sys
from datetime import datetime, timedelta

from normal_series import out_and_rng

ROWS = 4032
STEP = timedelta(minutes=5)
DAY = 288  # 5-minute samples per day
CATEGORY = "artificialNoAnomaly"


def daily(t):
    hour = (t % DAY) / 12
    return 80.0 if 9 <= hour < 18 else 20.0


def series(rng):
    return {
        "art_flatline": [50.0] * ROWS,
        "art_daily_perfect_square_wave": [daily(t) for t in range(ROWS)],
        "art_daily_no_noise": [daily(t) + 5 * math.sin(2 * math.pi * t / DAY) for t in range(ROWS)],
        "art_daily_small_noise": [daily(t) + rng.gauss(0, 2) for t in range(ROWS)],
        "art_noisy": [rng.gauss(50, 10) for _ in range(ROWS)],
    }


def main(argv):
    parsed = out_and_rng(argv, __doc__)
    if parsed is None:
        return 2
    out, rng = parsed
    os.makedirs(os.path.join(out, "data", CATEGORY), exist_ok=True)
    start = datetime(2014, 4, 1)
    windows = {}
    for name, values in series(rng).items():
        with open(os.path.join(out, "data", CATEGORY, name + ".csv"), "w") as f:
            f.write("timestamp,value\n")
            for t, v in enumerate(values):
                f.write(f"{(start + t * STEP).strftime('%Y-%m-%d %H:%M:%S')},{v:.6f}\n")
        windows[f"{CATEGORY}/{name}.csv"] = []
    with open(os.path.join(out, "combined_windows.json"), "w") as f:
        json.dump(windows, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
