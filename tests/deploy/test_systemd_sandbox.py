"""The sandbox of deploy/systemd/lstmad.service against what the daemon does.

systemd cannot start the unit in CI (no systemd as PID 1), so this test runs
the real `lstmad serve` under strace through start-up, ingestion, an
anomaly (an events-file write and a push to an Alertmanager stand-in at
"localhost"), rejected lines, scrapes of /metrics,
/healthz and /readyz, sd_notify messages (NOTIFY_SOCKET and WATCHDOG_USEC
set, as systemd would), a SIGHUP reload and a SIGTERM, and checks that
every system call it made is allowed by the unit's SystemCallFilter= (the
sets expanded by `systemd-analyze syscall-filter`), that its sockets are of
the RestrictAddressFamilies= families, that it never maps memory writable
and executable (MemoryDenyWriteExecute=), that it reads in /proc only its
own process (ProcSubset=pid) and that it writes only under its state
directory (ProtectSystem=strict).
"""
import http.server
import os
import re
import signal
import socket
import stat
import threading
import time
import urllib.request

from deploy_support import BIN, DEPLOY, Checks, run_tool, tempdir, tool

UNIT = os.path.join(DEPLOY, "systemd", "lstmad.service")
LOOKBACK = 10


def unit_values(key):
    values = []
    with open(UNIT) as f:
        for line in f:
            if line.startswith(key + "="):
                values.append(line.split("=", 1)[1].strip())
    return values


def expand(analyze, names, cache):
    """System call names of a list of names and @groups, recursively."""
    out = set()
    for name in names:
        if not name.startswith("@"):
            out.add(name)
            continue
        if name not in cache:
            text = run_tool([analyze, "syscall-filter", name]).stdout
            members = [x.strip() for x in text.splitlines()[1:] if x.strip() and not x.strip().startswith("#")]
            cache[name] = expand(analyze, members, cache)
        out |= cache[name]
    return out


def allowed_syscalls(analyze):
    # As systemd applies them after a first allow list: in order, each entry
    # adding to (or, with ~, removing from) the allowed set.
    cache, allowed = {}, set()
    for value in unit_values("SystemCallFilter"):
        if value.startswith("~"):
            allowed -= expand(analyze, value[1:].split(), cache)
        else:
            allowed |= expand(analyze, value.split(), cache)
    return allowed


def child_pid(parent, timeout=10):
    """The pid of the process strace started (its only child)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                return int(entry)
        time.sleep(0.05)
    raise AssertionError("strace started no child")


class AlertReceiver(http.server.ThreadingHTTPServer):
    """Stands in for Alertmanager: accepts POST /api/v2/alerts and counts them."""

    def __init__(self):
        self.posts = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.posts += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def exercise(checks, d, strace, trace):
    import daemon_harness as harness
    from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config

    state = os.path.join(d, "state")
    os.makedirs(state)
    model = train_pump_model(d, lookback=LOOKBACK, epochs=4, samples=1500)
    config = os.path.join(d, "lstmad.yaml")
    receiver = AlertReceiver()
    extra = (f"events:\n  path: {os.path.join(state, 'events.jsonl')}\n"
             f"alertmanager:\n  urls: [\"http://localhost:{receiver.server_address[1]}\"]\n")
    write_config(config, [{"name": "pump", "path": model, "measurement": "pump", "for": 2, "clear": 2}], extra)

    wrapper = os.path.join(d, "lstmad-under-strace")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\nexec {strace} -f -qq -s 256 -o {trace} -- {os.path.abspath(BIN)} "$@"\n')
    os.chmod(wrapper, stat.S_IRWXU)
    harness.BIN = wrapper

    notify_path = os.path.join(d, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(0.2)
    os.environ["NOTIFY_SOCKET"] = notify_path
    os.environ["WATCHDOG_USEC"] = "1000000"
    messages = []

    with Daemon(config, start_timeout=60) as daemon:
        pid = child_pid(daemon.proc.pid)
        sock = daemon.connect()
        for i in range(40):
            for s in range(3):
                sock.sendall(line("pump", {"id": s}, pump_values(i, phase=s)).encode())
        # A stuck-high sensor on stream 0: an anomaly, hence an events-file write.
        for i in range(40, 60):
            sock.sendall(line("pump", {"id": 0}, [500, 90, 40, 900]).encode())
        sock.sendall(b"not line protocol\nunknown,x=1 v=1\npump,id=9 temperature=1\n")
        daemon.wait_for(lambda m: total(m, "lstmad_stream_anomalies_total") >= 1, what="an anomaly")
        deadline = time.time() + 20
        while not receiver.posts and time.time() < deadline:
            time.sleep(0.05)
        checks.check("the anomaly was pushed to Alertmanager (resolving localhost)", bool(receiver.posts))
        daemon.wait_for(lambda m: total(m, "lstmad_samples_rejected_total") >= 3, what="rejections")
        for path in ("/healthz", "/readyz"):
            with urllib.request.urlopen(f"http://127.0.0.1:{daemon.metrics_port}{path}", timeout=10) as r:
                r.read()
        os.kill(pid, signal.SIGHUP)
        daemon.wait_for(lambda m: total(m, "lstmad_config_reloads_total", result="success") == 1,
                        what="the reload")
        # The watchdog's system calls must be in the trace: wait for a WATCHDOG=1.
        deadline = time.time() + 10
        while time.time() < deadline and not any("WATCHDOG=1" in msg for msg in messages):
            try:
                messages.append(notify.recv(4096).decode())
            except socket.timeout:
                pass
        sock.close()
        os.kill(pid, signal.SIGTERM)
        code = daemon.proc.wait(timeout=60)
        checks.check("lstmad under strace exits 0 on SIGTERM", code == 0, f"exit {code}")
        while True:
            try:
                messages.append(notify.recv(4096).decode())
            except socket.timeout:
                break
    notify.close()
    receiver.shutdown()
    with open(os.path.join(state, "events.jsonl")) as f:
        checks.check("the anomaly was written to the events file", f.read().strip() != "")
    kinds = sorted({m.split("=")[0] for msg in messages for m in msg.split("\n") if "=" in m})
    print(f"sd_notify messages received: {kinds}", flush=True)
    checks.check("sd_notify messages were sent (the notify path ran under strace)", "READY" in kinds)
    return state


def analyse(checks, trace, allowed, state):
    used, families, wx, writes, procfs = set(), set(), [], set(), set()
    call = re.compile(r"^\d+\s+([a-z_][a-z0-9_]*)\((.*)")
    with open(trace) as f:
        for text in f:
            m = call.match(text)
            if not m:
                continue
            name, args = m.groups()
            used.add(name)
            if name in ("socket", "socketpair"):
                families.add(args.split(",")[0])
            if name in ("mmap", "mprotect", "pkey_mprotect") and "PROT_WRITE" in args and "PROT_EXEC" in args:
                wx.append(text.strip())
            path = re.search(r'"([^"]*)"', args)
            if name in ("openat", "open", "creat") and re.search(r"O_WRONLY|O_RDWR|O_CREAT", args) and "= -1" not in args:
                writes.add(path.group(1))
            if path and path.group(1).startswith("/proc/"):
                procfs.add(path.group(1))
    print(f"{len(used)} distinct system calls: {' '.join(sorted(used))}", flush=True)
    denied = sorted(used - allowed)
    checks.check("every system call is allowed by SystemCallFilter=", not denied, " ".join(denied))
    bad_families = sorted(families - {"AF_INET", "AF_INET6", "AF_UNIX"})
    checks.check("sockets only of AF_INET, AF_INET6, AF_UNIX", not bad_families,
                 f"used {sorted(families)}")
    checks.check("no writable and executable mapping (MemoryDenyWriteExecute=)", not wx, "; ".join(wx[:3]))
    hidden = sorted(p for p in procfs if not re.match(r"/proc/(self|thread-self|\d+)/", p))
    checks.check("reads of /proc stay in its own process (ProcSubset=pid)", not hidden, " ".join(hidden))
    checks.check("the trace shows the events file opened for writing (control)",
                 any(p.startswith(state + "/") for p in writes), " ".join(sorted(writes)))
    outside = sorted(p for p in writes if not p.startswith(state + "/") and p not in ("/dev/null",))
    checks.check("files written only under the state directory (ProtectSystem=strict)", not outside,
                 " ".join(outside))


def main():
    checks = Checks()
    analyze, strace = tool("systemd-analyze"), tool("strace")
    allowed = allowed_syscalls(analyze)
    print(f"SystemCallFilter= of lstmad.service allows {len(allowed)} system calls", flush=True)
    checks.check("the expanded filter allows epoll_wait and denies sched_setaffinity and mount (control)",
                 "epoll_wait" in allowed and "sched_setaffinity" not in allowed and "mount" not in allowed)
    probe = run_tool([strace, "-o", "/dev/null", "/bin/true"])
    if probe.returncode != 0:
        # ptrace is forbidden in some sandboxes; say so rather than pretend.
        print(f"SKIP: strace cannot trace here: {probe.stderr.strip()}")
        checks.finish()
    with tempdir() as d:
        trace = os.path.join(d, "trace.txt")
        state = exercise(checks, d, strace, trace)
        analyse(checks, trace, allowed, state)
    checks.finish()


if __name__ == "__main__":
    main()
