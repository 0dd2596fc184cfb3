#!/usr/bin/env python3
"""Fails when a binary needs a shared library it must not: the daemon's
subsystems keep their heavy dependencies to themselves, so (for example) the
ingest subsystem's tests run without NATS or spdlog.

Usage: check_links.py BINARY FORBIDDEN [FORBIDDEN ...]
FORBIDDEN is a prefix of a DT_NEEDED entry, e.g. libnats.
"""
import subprocess
import sys


def needed(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]").strip() for line in out.splitlines() if "(NEEDED)" in line]


def main():
    binary, forbidden = sys.argv[1], sys.argv[2:]
    libraries = needed(binary)
    bad = [lib for lib in libraries if any(lib.startswith(f) for f in forbidden)]
    for lib in bad:
        print(f"{binary}: needs {lib}, which it must not ({', '.join(forbidden)} are forbidden)")
    if not bad:
        print(f"{binary}: needs {', '.join(libraries)}; none of {', '.join(forbidden)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
