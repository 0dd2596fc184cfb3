"""deploy/systemd: the unit has what the service needs (Type=notify, watchdog,
reload, dynamic user, state and configuration directories, the hardening
set), it restarts on exit 69 (a dependency unavailable at start) and 1 but
not on 2 (bad configuration), `systemd-analyze verify` passes without a warning, `systemd-analyze
security --offline=true` rates it 2.0 or lower (the figure is printed), and
the example /etc/lstmad/lstmad.yaml passes `lstmad serve --check`.

systemd cannot run the unit here (CI containers do not boot systemd);
test_systemd_sandbox.py checks the daemon's system calls against the
unit's filter instead.
"""
import os
import re
import shutil

from deploy_support import BIN, DEPLOY, Checks, run_tool, tempdir, tool

UNIT = os.path.join(DEPLOY, "systemd", "lstmad.service")
EXAMPLE_CONFIG = os.path.join(DEPLOY, "systemd", "lstmad.yaml")
MAX_EXPOSURE = 2.0

# Directive -> the exact value the unit must have.
REQUIRED = {
    "Type": "notify",
    "NotifyAccess": "main",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "DynamicUser": "yes",
    "ConfigurationDirectory": "lstmad",
    "StateDirectory": "lstmad",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "MemoryDenyWriteExecute": "yes",
    "CapabilityBoundingSet": "",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
}


def parse_unit(path):
    """[(section, key, value, line number)] of a unit file."""
    entries, section = [], None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            text = raw.strip()
            if not text or text[0] in "#;":
                continue
            if text.startswith("["):
                section = text.strip("[]")
                continue
            key, _, value = text.partition("=")
            entries.append((section, key.strip(), value.strip(), n))
    return entries


def restarts_after_exit(service, code):
    """Whether systemd restarts the service after its main process exits with
    `code` (not a signal, not a timeout): systemd.service(5)'s table for
    Restart=, then RestartPreventExitStatus= over it and
    RestartForceExitStatus= over both."""
    def codes(key):
        return {int(v) for value in service.get(key, []) for v in value.split() if v.isdigit()}
    if code in codes("RestartForceExitStatus"):
        return True
    if code in codes("RestartPreventExitStatus"):
        return False
    clean = code == 0 or code in codes("SuccessExitStatus")
    restart = service.get("Restart", ["no"])[-1]
    return restart == "always" or (restart == "on-success" and clean) or (restart == "on-failure" and not clean)


def check_restarts(checks, service):
    """Exit codes by meaning: 69 (a dependency unavailable at start) and 1 are
    restarted, 2 (bad configuration) and 0 are not."""
    for code, want, meaning in [(69, True, "a dependency unavailable at start"), (1, True, "a run-time failure"),
                                (2, False, "bad configuration"), (0, False, "a clean stop")]:
        got = restarts_after_exit(service, code)
        checks.check(f"exit {code} ({meaning}) is {'' if want else 'not '}restarted", got == want,
                     f"Restart={service.get('Restart')} RestartPreventExitStatus="
                     f"{service.get('RestartPreventExitStatus')} SuccessExitStatus={service.get('SuccessExitStatus')}")
    # The model of systemd's rule tells a unit that would leave 69 down (control).
    blocked = dict(service, RestartPreventExitStatus=["2 69"])
    checks.check("a unit preventing 69 would not restart on it (control)", not restarts_after_exit(blocked, 69))
    success = dict(service, SuccessExitStatus=["69"])
    checks.check("a unit counting 69 as success would not restart on it (control)",
                 not restarts_after_exit(success, 69))
    # Restarting every RestartSec must stay under the default start limit
    # (5 starts in 10 s), or systemd gives up while NATS is still down.
    sec = service.get("RestartSec", ["100ms"])[-1]
    m = re.fullmatch(r"(\d+)(ms|s)?", sec)
    seconds = (int(m.group(1)) / (1000 if m.group(2) == "ms" else 1)) if m else 0.0
    checks.check("RestartSec keeps restarts under the default start limit (>= 2.5 s)", seconds >= 2.5, sec)


def check_directives(checks, entries):
    service = {}
    for section, key, value, _ in entries:
        if section == "Service":
            service.setdefault(key, []).append(value)
    for key, want in REQUIRED.items():
        got = service.get(key, [])
        checks.check(f"{key}={want}", want in got, f"got {got}")
    start = service.get("ExecStart", [""])[0]
    checks.check("ExecStart runs `lstmad serve --config /etc/lstmad/lstmad.yaml`",
                 re.fullmatch(r"/\S+/lstmad serve --config /etc/lstmad/lstmad\.yaml", start) is not None, start)
    watchdog = service.get("WatchdogSec", ["0"])[0]
    checks.check("WatchdogSec is set", re.fullmatch(r"[1-9]\d*s?", watchdog) is not None, watchdog)
    filters = service.get("SystemCallFilter", [])
    checks.check("SystemCallFilter allows @system-service", "@system-service" in filters, f"{filters}")
    trailing = [f"line {n}: {k}={v}" for _, k, v, n in entries if re.search(r"\s[#;]", v)]
    checks.check("no trailing comments after values", not trailing, "; ".join(trailing))
    checks.check("no Type=notify-reload (systemd 252 lacks it)", "notify-reload" not in service.get("Type", []))
    check_restarts(checks, service)
    unit_keys = {key for section, key, _, _ in entries if section == "Unit"}
    checks.check("no StartLimit override in [Unit]", not any(k.startswith("StartLimit") for k in unit_keys),
                 f"{sorted(unit_keys)}")


def check_verify(checks, analyze, d):
    # verify needs ExecStart's binary to exist: point it at the one just built.
    unit_dir = os.path.join(d, "units")
    os.makedirs(unit_dir)
    unit = os.path.join(unit_dir, "lstmad.service")
    with open(UNIT) as f:
        text = f.read()
    with open(unit, "w") as f:
        f.write(re.sub(r"^ExecStart=\S+", f"ExecStart={os.path.abspath(BIN)}", text, flags=re.M))
    proc = run_tool([analyze, "verify", unit], cwd=d)
    out = (proc.stdout + proc.stderr).strip()
    checks.check("systemd-analyze verify passes with no warning", proc.returncode == 0 and not out,
                 f"exit {proc.returncode}: {out}")

    # The same check notices a trailing comment (so an empty output means something).
    bad = os.path.join(unit_dir, "bad", "lstmad.service")
    os.makedirs(os.path.dirname(bad))
    with open(unit) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(re.sub(r"^WatchdogSec=(\S+)", r"WatchdogSec=\1 # seconds", text, flags=re.M))
    proc = run_tool([analyze, "verify", bad], cwd=d)
    out = (proc.stdout + proc.stderr).strip()
    checks.check("verify warns about a trailing comment (control)", "ignoring" in out, out)


def check_security(checks, analyze):
    proc = run_tool([analyze, "security", "--offline=true", "--no-pager", UNIT], cwd=os.path.dirname(UNIT))
    out = proc.stdout + proc.stderr
    m = re.search(r"Overall exposure level for lstmad\.service: (\d+(?:\.\d+)?)", out)
    if not m:
        checks.check("systemd-analyze security reports an exposure level", False, out[-2000:])
        return
    exposure = float(m.group(1))
    print(f"systemd-analyze security --offline=true: exposure {exposure} (at most {MAX_EXPOSURE})", flush=True)
    for row in out.splitlines():
        if row.startswith("✗"):
            print("  " + " ".join(row.split()), flush=True)
    checks.check(f"exposure level {exposure} <= {MAX_EXPOSURE}", exposure <= MAX_EXPOSURE)


def check_example_config(checks, d):
    """deploy/systemd/lstmad.yaml, with /var/lib/lstmad moved to a temp dir, passes --check."""
    from daemon_harness import train_pump_model

    state = os.path.join(d, "state")
    os.makedirs(os.path.join(state, "models"))
    model = train_pump_model(d, epochs=2, samples=600)
    shutil.copy(model, os.path.join(state, "models", "pump.lstmad"))
    with open(EXAMPLE_CONFIG) as f:
        text = f.read()
    checks.check("the example config keeps models and events in /var/lib/lstmad",
                 "path: /var/lib/lstmad/models/" in text and "path: /var/lib/lstmad/events" in text)
    config = os.path.join(d, "lstmad.yaml")
    with open(config, "w") as f:
        f.write(text.replace("/var/lib/lstmad", state))
    proc = run_tool([BIN, "serve", "--config", config, "--check"])
    checks.check("deploy/systemd/lstmad.yaml passes `lstmad serve --check`", proc.returncode == 0,
                 (proc.stdout + proc.stderr).strip())
    # What docs/operations.md says the shipped configuration turns on.
    checks.check("the shipped configuration keeps state across restarts",
                 f"  state:        {state}/state, a snapshot every 30 s\n" in proc.stdout, proc.stdout)
    checks.check("the shipped configuration notifies the local Alertmanager",
                 "  alertmanager: http://127.0.0.1:9093, firing alerts re-sent every 60 s\n" in proc.stdout,
                 proc.stdout)


def main():
    checks = Checks()
    analyze = tool("systemd-analyze")
    print(run_tool([analyze, "--version"]).stdout.splitlines()[0], flush=True)
    booted = os.path.isdir("/run/systemd/system")
    print("systemd is " + ("the service manager here" if booted else
                           "not the service manager here (no /run/systemd/system): the unit is checked "
                           "offline, not started"), flush=True)
    check_directives(checks, parse_unit(UNIT))
    with tempdir() as d:
        check_verify(checks, analyze, d)
        check_security(checks, analyze)
        check_example_config(checks, d)
    checks.finish()


if __name__ == "__main__":
    main()
