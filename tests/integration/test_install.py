"""`cmake --install` puts the binary, the systemd unit, the example
configuration and the demo files in the usual places under the prefix."""
import os
import subprocess
import sys

from lstmad_cli import Checks, tempdir


def main():
    build_dir = sys.argv[1]
    checks = Checks()
    with tempdir() as prefix:
        proc = subprocess.run(["cmake", "--install", build_dir, "--prefix", prefix], capture_output=True, text=True)
        checks.check("cmake --install succeeds", proc.returncode == 0, proc.stderr[-500:])
        for path in ["bin/lstmad", "lib/systemd/system/lstmad.service", "etc/lstmad/lstmad.example.yaml",
                     "share/lstmad/examples/lstmad.yaml", "share/lstmad/prometheus/lstmad-rules.yml",
                     "share/lstmad/grafana/lstmad-dashboard.json"]:
            checks.check(f"installs {path}", os.path.exists(os.path.join(prefix, path)))
        version = subprocess.run([os.path.join(prefix, "bin/lstmad"), "--version"], capture_output=True, text=True)
        checks.check("the installed binary runs", version.returncode == 0 and "lstmad" in version.stdout, version.stdout)
    checks.finish()


if __name__ == "__main__":
    main()
