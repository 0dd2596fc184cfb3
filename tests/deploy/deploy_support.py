"""Shared helpers for the tests of deploy/: paths, the real tools they run
(promtool, amtool, systemd-analyze, prometheus) and the integration
harness of tests/integration (imported from there).

Run with Debian's /usr/bin/python3 (it has python3-yaml); CTest sets
LSTMAD_BIN to the built `lstmad`.
"""
import os
import re
import shutil
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.path.join(REPO, "deploy")
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from lstmad_cli import BIN, Checks, tempdir  # noqa: E402  (path set above)

__all__ = ["BIN", "Checks", "tempdir", "HERE", "REPO", "DEPLOY", "tool", "run_tool", "free_port",
           "contract_metrics", "operations_anchors"]


def tool(name):
    """The absolute path of a tool that scripts/install-deps.sh installs; exits if missing."""
    path = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin") or shutil.which(name)
    if not path:
        sys.exit(f"{name} is not installed (scripts/install-deps.sh installs it)")
    return path


def run_tool(args, timeout=120, **kw):
    """Runs a command; returns the CompletedProcess (text, output captured)."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_contract = None


def contract_metrics():
    """The metric families docs/metrics.md declares: {name: [label names]}."""
    global _contract
    if _contract is None:
        _contract = {}
        with open(os.path.join(REPO, "docs", "metrics.md")) as f:
            for line in f:
                m = re.match(r"\| `(lstmad_[a-z0-9_]+)` \| \w+ \| ([^|]*)\|", line)
                if m:
                    _contract[m.group(1)] = re.findall(r"`([a-z_]+)`", m.group(2))
    return _contract


def operations_anchors():
    """GitHub-style anchors of the headings of docs/operations.md."""
    anchors = set()
    with open(os.path.join(REPO, "docs", "operations.md")) as f:
        for line in f:
            m = re.match(r"#+\s+(.*)", line)
            if m:
                text = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
                anchors.add(text.replace(" ", "-"))
    return anchors
