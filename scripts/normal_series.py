#!/usr/bin/python3
"""Writes normal-only series, NAB-like (one value every 5 minutes, 4000 rows,
~2 weeks), in SKAB's file layout (`datetime;value;anomaly;changepoint`, the
labels all 0) so scripts/evaluate_skab.sh runs them through the same
protocol. A detector that alerts on any of them raises a false alarm.

  normal_series.py OUT_DIR [SEED]

Fixed seed (default 7), standard library only: the same files on every
machine. The series:
  white_noise   N(0, 1)
  daily_sine    10 + 5 sin(2 pi t / 1 day) + N(0, 0.5)
  random_walk   a slow random walk: steps N(0, 0.05), plus N(0, 0.1) noise
  sawtooth      load ramping 20 -> 80 over 4 h, then back to 20, + N(0, 2)
"""
import math
import os
import random
import sys
from datetime import datetime, timedelta

ROWS = 4000
STEP = timedelta(minutes=5)
DAY = 288  # 5-minute samples per day
RAMP = 48  # 4 hours


def series(rng):
    walk = [0.0]
    for _ in range(ROWS - 1):
        walk.append(walk[-1] + rng.gauss(0, 0.05))
    return {
        "white_noise": [rng.gauss(0, 1) for _ in range(ROWS)],
        "daily_sine": [10 + 5 * math.sin(2 * math.pi * t / DAY) + rng.gauss(0, 0.5) for t in range(ROWS)],
        "random_walk": [w + rng.gauss(0, 0.1) for w in walk],
        "sawtooth": [20 + 60 * (t % RAMP) / (RAMP - 1) + rng.gauss(0, 2) for t in range(ROWS)],
    }


def out_and_rng(argv, usage):
    """OUT_DIR [SEED] from the command line: (OUT_DIR, a random.Random seeded
    with SEED, default 7), or None after printing `usage`."""
    if len(argv) not in (1, 2):
        sys.stderr.write(usage)
        return None
    return argv[0], random.Random(int(argv[1]) if len(argv) == 2 else 7)


def main(argv):
    parsed = out_and_rng(argv, __doc__)
    if parsed is None:
        return 2
    out, rng = parsed
    os.makedirs(out, exist_ok=True)
    start = datetime(2020, 1, 1)
    for name, values in series(rng).items():
        with open(os.path.join(out, name + ".csv"), "w") as f:
            f.write("datetime;value;anomaly;changepoint\n")
            for t, v in enumerate(values):
                f.write(f"{(start + t * STEP).isoformat(sep=' ')};{v:.6f};0;0\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
