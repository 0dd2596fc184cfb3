"""Issue 4: `lstmad serve` pointed straight at a Keras file (a real one from
../shared/keras-models), calibrated on normal data from the config, scores
streams; a Keras file without features or threshold is refused by key path.
"""
import math
import os

from daemon_harness import Daemon, total
from lstmad_cli import REPO, Checks, run, tempdir

KERAS = os.path.join(REPO, "..", "shared", "keras-models", "fariha-masters-thesis", "lstm_autoencoder.h5")


def main():
    checks = Checks()
    with tempdir() as d:
        normal = os.path.join(d, "normal.csv")
        with open(normal, "w") as f:
            f.write("value\n" + "".join(f"{0.5 + 0.4 * math.sin(i / 5):.6f}\n" for i in range(300)))
        cfg = os.path.join(d, "lstmad.yaml")
        with open(cfg, "w") as f:
            f.write(f"ingest: {{ listen: 127.0.0.1:0 }}\nmetrics: {{ listen: 127.0.0.1:0 }}\nmodels:\n"
                    f"  - name: thesis\n    path: {KERAS}\n    measurement: sensor\n"
                    f"    features: [value]\n    calibrate: {normal}\n    scaler: none\n")
        check = run("serve", "--config", cfg, "--check", check=False)
        checks.check("serve --check loads a Keras model", check.returncode == 0, check.stderr.strip())
        with Daemon(cfg) as daemon:
            sock = daemon.connect()
            sock.sendall("".join(f"sensor,id=s1 value={0.5 + 0.4 * math.sin(i / 5):.6f}\n" for i in range(40)).encode())
            ok, m = daemon.poll(lambda m: total(m, "lstmad_windows_scored_total") == 40 - 30 + 1)
            checks.check("the Keras model's windows are scored", ok,
                         f"{total(m, 'lstmad_windows_scored_total'):.0f} windows of {40 - 30 + 1}")
            info = [k for k in m if k.startswith("lstmad_model_info")]
            checks.check("model info shows T=30 F=1", any('lookback="30"' in k and 'features="value"' in k for k in info),
                         str(info))
            checks.check("a calibrated threshold is in use", m.get('lstmad_model_threshold{model="thesis"}', 0) > 0)
            sock.close()
            checks.check("exit 0", daemon.stop() == 0)
        with open(cfg, "w") as f:
            f.write(f"models:\n  - name: thesis\n    path: {KERAS}\n    measurement: sensor\n")
        bad = run("serve", "--config", cfg, "--check", check=False)
        checks.check("a Keras file without features is refused by key path",
                     bad.returncode == 2 and "models[0].features: required" in bad.stderr, bad.stderr.strip())
        with open(cfg, "a") as f:
            f.write("    features: [value]\n")
        bad = run("serve", "--config", cfg, "--check", check=False)
        checks.check("and without calibrate or threshold too",
                     bad.returncode == 2 and "models[0].threshold: required" in bad.stderr, bad.stderr.strip())
    checks.finish()


if __name__ == "__main__":
    main()
