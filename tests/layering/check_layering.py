#!/usr/bin/env python3
"""Checks that dependencies between lstmad's parts run one way.

Every #include in core/, config/, keras/, daemon/ and tools/ is classified by
where it points: another of our parts (a quoted path such as
"ingest/stream_table.h" or "lstmad/core/model.h") or a third-party library
(<boost/asio.hpp>, <nats/nats.h>, ...). An include across an edge that
ALLOWED does not list, or of a library outside the parts LIBRARIES lists for
it, is reported as `file:line: ...` and the check exits 1.

Usage: check_layering.py [ROOT]   (ROOT defaults to the repository root)
"""
import os
import re
import sys

# Parts, lowest first; each may include itself and the parts listed for it.
# The daemon's subsystems follow the data flow: a line comes in through net
# (or cluster), ingest turns it into windows, scoring scores them, alerting
# sends what fired; obs (metrics, logs) is used by all of them, app wires them.
ALLOWED = {
    "core": set(),
    "config": {"core"},
    "keras": {"core"},
    "daemon/obs": {"core", "config"},
    # remote: the write-back client (remote_write_out) encodes WriteRequests.
    "daemon/alerting": {"core", "config", "daemon/obs", "daemon/remote"},
    "daemon/scoring": {"core", "config", "keras", "daemon/obs", "daemon/alerting"},
    "daemon/ingest": {"core", "config", "daemon/obs", "daemon/alerting", "daemon/scoring", "daemon/remote"},
    "daemon/cluster": {"core", "config", "daemon/obs", "daemon/alerting", "daemon/scoring",
                       "daemon/ingest"},
    "daemon/remote": {"core"},
    "daemon/net": {"core", "config", "daemon/obs", "daemon/ingest", "daemon/remote"},
    # The web console: reads scoring's stream histories and the models; no
    # sockets (app routes HTTP requests to it).
    "daemon/console": {"core", "config", "daemon/obs", "daemon/alerting", "daemon/scoring"},
    "daemon/app": {"core", "config", "keras", "daemon/obs", "daemon/alerting", "daemon/scoring",
                   "daemon/ingest", "daemon/cluster", "daemon/net", "daemon/console", "daemon/remote"},
    "tools": {"core", "config", "keras", "daemon/app", "daemon/ingest", "daemon/obs", "daemon/remote"},
}

# Third-party headers (by the first component of the <path>) and the parts
# that may include them. Headers not named here (the standard library, POSIX,
# Eigen in core, ...) are not restricted.
LIBRARIES = {
    "nats": {"daemon/cluster"},
    "boost": {"daemon/net", "daemon/app"},
    "openssl": {"daemon/net", "daemon/app"},
    "spdlog": {"daemon/obs"},
    "fmt": {"daemon/obs"},
    "systemd": {"daemon/obs"},
    "prometheus": {"daemon/obs", "daemon/alerting", "daemon/scoring", "daemon/ingest",
                   "daemon/cluster", "daemon/net", "daemon/app"},
    "yaml-cpp": {"config"},
    # JSON: Alertmanager bodies and log/event strings (obs, alerting), the
    # Keras config (keras), NAB windows and reports (tools).
    "nlohmann": {"daemon/obs", "daemon/alerting", "daemon/ingest", "keras", "tools"},
    "mosquitto.h": {"daemon/net"},
    "hdf5.h": {"keras"},
    "H5Cpp.h": {"keras"},
    "zip.h": {"keras"},
    "snappy.h": {"daemon/remote"},
    "google": {"daemon/remote"},
    # gzip request bodies (daemon/net/gzip.cc).
    "zlib.h": {"daemon/net"},
    "Eigen": {"core", "keras", "daemon/scoring", "tools"},
}

# Where a quoted include path points.
QUOTED_PREFIXES = [
    ("lstmad/core/", "core"),
    ("lstmad/config/", "config"),
    ("lstmad/keras/", "keras"),
    ("obs/", "daemon/obs"),
    ("alerting/", "daemon/alerting"),
    ("scoring/", "daemon/scoring"),
    ("ingest/", "daemon/ingest"),
    ("cluster/", "daemon/cluster"),
    ("net/", "daemon/net"),
    ("app/", "daemon/app"),
    ("remote/", "daemon/remote"),
    ("console/", "daemon/console"),
]

# Folders on the include path besides each file's own (tools/CMakeLists.txt:
# the commands include the CLI library's headers by their plain names).
INCLUDE_DIRS = ["tools/lib"]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE = re.compile(r"\.(h|hh|hpp|cc|cpp)$")


def part_of(relpath):
    """The part a source file belongs to, or None (tests, bench, ...)."""
    for part in sorted(ALLOWED, key=len, reverse=True):
        if relpath == part or relpath.startswith(part + "/"):
            return part
    return None


def target_of(path, including_file, root):
    """The part a quoted include points to; a path relative to the including
    file's folder (a private header beside it) belongs to the includer's part."""
    for prefix, part in QUOTED_PREFIXES:
        if path.startswith(prefix):
            return part
    for folder in [os.path.dirname(including_file)] + [os.path.join(root, d) for d in INCLUDE_DIRS]:
        candidate = os.path.normpath(os.path.join(folder, path))
        if os.path.exists(candidate):
            return part_of(os.path.relpath(candidate, root))
    return None


def check(root):
    problems = []
    for top in ("core", "config", "keras", "daemon", "tools"):
        for folder, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not SOURCE.search(name):
                    continue
                full = os.path.join(folder, name)
                rel = os.path.relpath(full, root)
                part = part_of(rel)
                if part is None:
                    problems.append(f"{rel}:1: not in any part this check knows (add it to ALLOWED)")
                    continue
                with open(full, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        kind, path = m.groups()
                        problem = judge(root, full, part, kind, path)
                        if problem:
                            problems.append(f"{rel}:{number}: {problem}")
    return problems


def judge(root, full, part, kind, path):
    if kind == '"':
        target = target_of(path, full, root)
        if target is None:
            return f'#include "{path}" points nowhere this check knows'
        if target != part and target not in ALLOWED[part]:
            return f'{part} must not include {target} ("{path}"): dependencies run the other way'
        return None
    library = path.split("/")[0]
    allowed = LIBRARIES.get(library)
    if allowed is not None and part not in allowed:
        where = ", ".join(sorted(allowed))
        return f"<{path}> is used only in {where}, not in {part}"
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    problems = check(os.path.abspath(root))
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layering problem(s)")
        return 1
    print("layering: every include runs one way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
