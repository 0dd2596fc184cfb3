"""Samples in pieces, end to end: (1) line protocol with each field on its
own line gives exactly the windows (the same reconstruction errors) of whole
lines; (2) Debian's collectd, with its load, memory and write_graphite
plugins, sends this machine's real load and memory over Graphite plaintext;
the template mapping turns its paths into the fields of a model trained on
synthetic load/memory columns, and the model's windows are scored.
Loopback only; every wait bounded."""
import math
import os
import random
import re
import signal
import socket
import subprocess

from daemon_harness import Daemon
from lstmad_cli import Checks, run, tempdir, train_fixture

COLLECTD = "/usr/sbin/collectd"
FEATURES = ["shortterm", "memory-used"]
LOOKBACK = 4


def train_host_model(workdir):
    """A tiny model over load (0..4) and used memory (bytes) columns."""
    rng = random.Random(5)
    csv = os.path.join(workdir, "host.csv")
    with open(csv, "w") as f:
        f.write(",".join(FEATURES) + "\n")
        for i in range(400):
            f.write(f"{abs(1 + rng.gauss(0, 0.5)):.4f},{2e9 + rng.gauss(0, 2e8):.0f}\n")
    model = os.path.join(workdir, "host.lstmad")
    train_fixture("--data", csv, "--lookback", LOOKBACK, "--encoder", "8", "--decoder", "8", "--epochs", 2,
                  "--batch-size", 32, "--seed", 3, "--out", model)
    return model


def write_config(path, model):
    with open(path, "w") as f:
        f.write(f"""ingest:
  listen: 127.0.0.1:0
  graphite:
    listen: 127.0.0.1:0
    templates:
      - "collectd.*.load.load.* measurement.host...field"
      - "collectd.*.memory.* measurement.host..field"
metrics:
  listen: 127.0.0.1:0
models:
  - name: host
    path: {model}
    measurement: collectd
    assembly: {{ tolerance: 1s, wait: 3s, carry_forward: 2 }}
""")
    return path


def scored(m):
    return m.get('lstmad_windows_scored_total{model="host"}', 0)


def split_lines_equal_whole_lines(checks, daemon):
    whole, split = [], []
    for i in range(10):
        ts = (1_700_000_000 + 10 * i) * 1_000_000_000
        load, mem = 1 + 0.1 * (i % 3), 2e9 + 1e7 * i
        whole.append(f"collectd,host=whole shortterm={load},memory-used={mem} {ts}\n")
        # The fields in either order, each on its own line.
        pieces = [f"collectd,host=split shortterm={load} {ts}\n", f"collectd,host=split memory-used={mem} {ts}\n"]
        split.extend(pieces if i % 2 else pieces[::-1])
    daemon.send("".join(whole) + "".join(split))
    want = 2 * (10 - LOOKBACK + 1)
    ok, m = daemon.poll(lambda m: scored(m) >= want, timeout=30)
    checks.check("line protocol: whole and split lines both scored, 7 windows each", ok and scored(m) == want,
                 str(scored(m)))
    errors = {host: m.get(f'lstmad_stream_reconstruction_error{{host="{host}",model="host",'
                          f'stream="collectd,host={host}"}}') for host in ("whole", "split")}
    checks.check("fields on separate lines give the windows of whole lines (the same error)",
                 # (up to float32 ULPs: the two streams' windows may be scored in different micro-batches)
                 errors["whole"] is not None and errors["split"] is not None and
                 math.isclose(errors["whole"], errors["split"], rel_tol=1e-5), str(errors))
    checks.check("every line counted as received (10 whole + 20 split)",
                 m.get('lstmad_samples_received_total{model="host"}') == 30,
                 str(m.get('lstmad_samples_received_total{model="host"}')))
    return m


def collectd_feeds_the_model(checks, daemon, workdir, graphite_port, before):
    conf = os.path.join(workdir, "collectd.conf")
    with open(conf, "w") as f:
        f.write(f"""Hostname "lstmadtest"
FQDNLookup false
BaseDir "{workdir}"
PIDFile "{workdir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 2
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{workdir}/collectd.log"
</Plugin>
LoadPlugin load
LoadPlugin memory
LoadPlugin write_graphite
<Plugin memory>
  ValuesAbsolute true
  ValuesPercentage false
</Plugin>
<Plugin write_graphite>
  <Node "lstmad">
    Host "127.0.0.1"
    Port "{graphite_port}"
    Protocol "tcp"
    Prefix "collectd."
    AlwaysAppendDS false
    EscapeCharacter "_"
  </Node>
</Plugin>
""")
    proc = subprocess.Popen([COLLECTD, "-f", "-C", conf], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        # Interval 2 s, tolerance 1 s: one vector every 2 s; 4 for the first
        # window, 3 windows by the 6th.
        want = before + 3
        ok, m = daemon.poll(lambda m: scored(m) >= want, timeout=60)
        received = m.get('lstmad_samples_received_total{model="host"}', 0) - 30
        checks.check("collectd's load and memory lines reach the model through the templates", received >= 2 * LOOKBACK,
                     f"{received} lines")
        checks.check("collectd's samples are assembled and scored: 3 windows within 60 s", ok,
                     f"{scored(m) - before} windows")
        stream = 'stream="collectd,host=lstmadtest"'
        checks.check("the stream is named by the template's host tag",
                     any(stream in key for key in m if key.startswith("lstmad_stream_reconstruction_error")),
                     ", ".join(k for k in m if k.startswith("lstmad_stream_reconstruction_error")))
        # load's midterm/longterm and memory's other states are fields no feature names.
        checks.check("collectd's other values are refused as missing_field, counted",
                     m.get('lstmad_samples_rejected_total{measurement="collectd",reason="missing_field"}', 0) > 0)
        checks.check("no parse errors from collectd's lines",
                     m.get('lstmad_samples_rejected_total{reason="parse_error"}', 0) == 0)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log = os.path.join(workdir, "collectd.log")
        if os.path.exists(log):
            print(open(log).read()[-2000:])


def bad_templates_refused(checks, workdir, model):
    cfg = write_config(os.path.join(workdir, "bad.yaml"), model)
    with open(cfg) as f:
        text = f.read().replace('"collectd.*.memory.* measurement.host..field"', '"host.field"')
    with open(cfg, "w") as f:
        f.write(text)
    want = 'ingest.graphite.templates[1]: template "host.field" has no measurement part'
    for args in (["serve", "--check", "--config", cfg], ["serve", "--config", cfg]):
        proc = run(*args, check=False, timeout=60)
        checks.check(f"lstmad {' '.join(args[:-1])}: a bad template is refused with exit 2, named",
                     proc.returncode == 2 and want in proc.stderr, f"{proc.returncode}: {proc.stderr.strip()}")


def main():
    checks = Checks()
    if not os.path.exists(COLLECTD):
        checks.check("collectd installed (scripts/install-deps.sh installs collectd-core)", False)
        checks.finish()
    with tempdir() as d:
        model = train_host_model(d)
        cfg = write_config(os.path.join(d, "lstmad.yaml"), model)
        bad_templates_refused(checks, d, model)
        with Daemon(cfg) as daemon:
            graphite_port = int(re.search(r"graphite=[^ ]*:(\d+)", daemon.wait_for_log("Graphite listener")).group(1))
            m = split_lines_equal_whole_lines(checks, daemon)
            collectd_feeds_the_model(checks, daemon, d, graphite_port, scored(m))
            # A reload re-compiles the templates; the Graphite listener keeps serving.
            daemon.signal(signal.SIGHUP)
            ok, m = daemon.poll(lambda m: m.get('lstmad_config_reloads_total{result="success"}', 0) >= 1, timeout=30)
            checks.check("SIGHUP with ingest.graphite: the reload succeeds", ok)
            before = m.get('lstmad_samples_received_total{model="host"}', 0)
            with socket.create_connection(("127.0.0.1", graphite_port), timeout=10) as sock:
                sock.sendall(b"collectd.after.load.load.shortterm 1.5 1700000000\n")
            ok, m = daemon.poll(lambda m: m.get('lstmad_samples_received_total{model="host"}', 0) > before, timeout=20)
            checks.check("after the reload, a Graphite line is received", ok)
            checks.check("SIGTERM: exit 0", daemon.stop() == 0)
    checks.finish()


if __name__ == "__main__":
    main()
