"""Helpers for integration tests that run the real `lstmad` binary.

Run with Debian's /usr/bin/python3 (it has numpy); the binary's path comes
from the LSTMAD_BIN environment variable that CTest sets.
"""
import os
import subprocess
import sys
import tempfile

BIN = os.environ.get("LSTMAD_BIN", "lstmad")
# The binary that trains the models a test only feeds to the daemon
# (train_fixture). scripts/test.sh points it at the release build's while it
# runs the integration tests under a sanitizer: those runs are there for the
# daemon, and training at a sanitizer's pace was most of their time. Training
# itself runs under the sanitizers in the unit tests and in the tests that
# train on purpose (test_cli, test_seed_example, ...), which use `run`.
FIXTURE_BIN = os.environ.get("LSTMAD_FIXTURE_BIN") or BIN
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args, check=True, timeout=600, binary=BIN):
    """Runs lstmad with `args`; returns the CompletedProcess (text mode)."""
    proc = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise AssertionError(f"lstmad {' '.join(map(str, args))} exited {proc.returncode}")
    return proc


def train_fixture(*args, timeout=600):
    """`lstmad train` with `args`, by FIXTURE_BIN: for a model that is a test's
    input, not its subject."""
    return run("train", *args, timeout=timeout, binary=FIXTURE_BIN)


def read_csv(text):
    """Parses CSV text into (header, rows of strings)."""
    lines = [line for line in text.splitlines() if line]
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


def tempdir():
    return tempfile.TemporaryDirectory(prefix="lstmad-test-")


class Checks:
    """Collects named checks, prints them, and exits non-zero if any failed."""

    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, name, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)
