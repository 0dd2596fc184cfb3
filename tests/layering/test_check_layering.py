#!/usr/bin/env python3
"""The layering check fails on what it should: copies of a small tree with
one wrong-way include (or a third-party header in the wrong subsystem) must
be reported naming the file and line, and the clean tree must pass."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_layering.py")

CLEAN = {
    "core/include/lstmad/core/model.h": "#include <vector>\n",
    "config/src/settings.cc": '#include "lstmad/core/model.h"\n#include <yaml-cpp/yaml.h>\n',
    "keras/src/import.cc": '#include "lstmad/core/model.h"\n',
    "daemon/obs/logging.h": "#include <string>\n",
    "daemon/alerting/alerts.h": '#include "obs/logging.h"\n',
    "daemon/scoring/scorer.h": '#include "alerting/alerts.h"\n',
    "daemon/ingest/stream_table.h": "#include <cstdint>\n",
    "daemon/ingest/ingestor.h": '#include "scoring/scorer.h"\n#include "stream_table.h"\n',
    "daemon/cluster/cluster.cc": '#include "ingest/ingestor.h"\n#include <nats/nats.h>\n',
    "daemon/net/server.cc": '#include "ingest/ingestor.h"\n#include <boost/asio.hpp>\n',
    "daemon/app/daemon.cc": '#include "net/server.h"\n#include "cluster/cluster.h"\n',
    "tools/main.cc": '#include "app/daemon.h"\n',
}

# (file, the line to append, what the report must say)
WRONG = [
    ("daemon/scoring/scorer.h", '#include "ingest/stream_table.h"\n',
     "daemon/scoring/scorer.h:2: daemon/scoring must not include daemon/ingest"),
    ("daemon/alerting/alerts.h", '#include "scoring/scorer.h"\n',
     "daemon/alerting/alerts.h:2: daemon/alerting must not include daemon/scoring"),
    ("core/include/lstmad/core/model.h", '#include "lstmad/config/settings.h"\n',
     "core/include/lstmad/core/model.h:2: core must not include config"),
    ("daemon/ingest/ingestor.h", "#include <nats/nats.h>\n",
     "daemon/ingest/ingestor.h:3: <nats/nats.h> is used only in daemon/cluster, not in daemon/ingest"),
    ("daemon/scoring/scorer.h", "#include <spdlog/spdlog.h>\n",
     "daemon/scoring/scorer.h:2: <spdlog/spdlog.h> is used only in daemon/obs, not in daemon/scoring"),
    ("daemon/ingest/ingestor.h", "#include <boost/asio.hpp>\n",
     "daemon/ingest/ingestor.h:3: <boost/asio.hpp> is used only in daemon/app, daemon/net, not in daemon/ingest"),
]


def make_tree(root, extra=None):
    for rel, text in CLEAN.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text + (extra[1] if extra and extra[0] == rel else ""))


def run(root):
    r = subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True)
    return r.returncode, r.stdout


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as root:
        make_tree(root)
        code, out = run(root)
        if code != 0:
            print(f"FAIL: the clean tree was refused:\n{out}")
            failures += 1
        else:
            print("ok: the clean tree passes")
    for rel, line, expected in WRONG:
        with tempfile.TemporaryDirectory() as root:
            make_tree(root, (rel, line))
            code, out = run(root)
            if code == 0 or expected not in out:
                print(f"FAIL: {line.strip()} in {rel}: exit {code}, expected {expected!r} in:\n{out}")
                failures += 1
            else:
                print(f"ok: {expected}")
    print(f"{len(WRONG) + 1 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
