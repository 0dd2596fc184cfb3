"""deploy/kubernetes: the manifests parse, kustomization.yaml lists them all,
and they fit together: the Deployment's probes hit /readyz and /healthz on
the metrics port, container ports match the listen addresses of the
ConfigMap's configuration (on 0.0.0.0), the Service and PodMonitor select the
pod and name its ports, volumes name the ConfigMap and the claim, the config
lives where --config points and the state where the configuration writes;
the pod is hardened (non-root, read-only root filesystem, no privilege
escalation, every capability dropped, seccomp) and has resource requests;
and the ConfigMap's configuration passes `lstmad serve --check`.
"""
import os
import re
import shutil
import urllib.error
import urllib.request

import yaml

from deploy_support import BIN, DEPLOY, REPO, Checks, run_tool, tempdir

K8S = os.path.join(DEPLOY, "kubernetes")


def load():
    docs, names = {}, []
    for name in sorted(os.listdir(K8S)):
        if not name.endswith((".yaml", ".yml")):
            continue
        names.append(name)
        with open(os.path.join(K8S, name)) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    docs.setdefault(doc["kind"], []).append((name, doc))
    return docs, names


def port_of(endpoint):
    return int(endpoint.rsplit(":", 1)[1])


def check_kustomization(checks, docs, names):
    kust = docs.get("Kustomization", [(None, {})])[0][1]
    listed = set(kust.get("resources", []))
    others = {n for n in names if n != "kustomization.yaml"}
    checks.check("kustomization.yaml lists every manifest", listed == others,
                 f"listed {sorted(listed)}, present {sorted(others)}")
    for kind in ("ConfigMap", "Deployment", "Service", "PodMonitor", "PersistentVolumeClaim"):
        checks.check(f"one {kind}", len(docs.get(kind, [])) == 1)
    for kind, items in docs.items():
        for name, doc in items:
            if kind != "Kustomization":
                checks.check(f"{name}: apiVersion, kind, metadata.name",
                             bool(doc.get("apiVersion")) and bool(doc.get("metadata", {}).get("name")))


def check_pod(checks, dep, lstmad_config):
    spec = dep["spec"]["template"]["spec"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    checks.check("Deployment selector matches the pod's labels",
                 dep["spec"]["selector"]["matchLabels"].items() <= pod_labels.items())
    (c,) = spec["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    checks.check("container ports match ingest.listen and metrics.listen",
                 ports.get("ingest") == port_of(lstmad_config["ingest"]["listen"])
                 and ports.get("metrics") == port_of(lstmad_config["metrics"]["listen"]), f"{ports}")
    checks.check("the daemon listens on every interface of the pod",
                 all(lstmad_config[k]["listen"].startswith(("0.0.0.0:", "[::]:")) for k in ("ingest", "metrics")))
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = c.get(probe, {}).get("httpGet", {})
        checks.check(f"{probe} is GET {path} on the metrics port",
                     get.get("path") == path and get.get("port") in ("metrics", ports.get("metrics")), f"{get}")
    requests = c.get("resources", {}).get("requests", {})
    checks.check("resource requests for cpu and memory", "cpu" in requests and "memory" in requests)
    sc, psc = c.get("securityContext", {}), spec.get("securityContext", {})
    checks.check("runs as non-root", (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")) is True
                 and (sc.get("runAsUser", psc.get("runAsUser", 0)) != 0))
    checks.check("read-only root filesystem", sc.get("readOnlyRootFilesystem") is True)
    checks.check("no privilege escalation", sc.get("allowPrivilegeEscalation") is False)
    checks.check("every capability dropped", sc.get("capabilities", {}).get("drop") == ["ALL"])
    checks.check("seccomp RuntimeDefault",
                 (sc.get("seccompProfile") or psc.get("seccompProfile", {})).get("type") == "RuntimeDefault")
    checks.check("no service account token", spec.get("automountServiceAccountToken") is False)
    return spec, c, pod_labels, ports


def check_volumes(checks, docs, spec, c, lstmad_config):
    args = c.get("args", [])
    config_path = args[args.index("--config") + 1] if "--config" in args else ""
    checks.check("args run `serve --config FILE`", args[:1] == ["serve"] and bool(config_path), f"{args}")
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    cm_name, cm = docs["ConfigMap"][0][1]["metadata"]["name"], docs["ConfigMap"][0][1]
    mount = mounts.get(os.path.dirname(config_path), {})
    vol = volumes.get(mount.get("name"), {})
    checks.check("--config is a key of the mounted ConfigMap",
                 vol.get("configMap", {}).get("name") == cm_name and os.path.basename(config_path) in cm["data"],
                 f"{config_path}")
    pvc = docs["PersistentVolumeClaim"][0][1]["metadata"]["name"]
    state = [p for p, m in mounts.items() if volumes[m["name"]].get("persistentVolumeClaim", {}).get("claimName") == pvc]
    checks.check("the state claim is mounted", len(state) == 1, f"{state}")
    written = [lstmad_config.get("events", {}).get("path", "")] + [m["path"] for m in lstmad_config["models"]]
    checks.check("models and events live on the state volume (the root filesystem is read-only)",
                 bool(state) and all(p.startswith(state[0] + "/") for p in written if p), f"{written}")
    # Issue 18: without state a restarted pod (e.g. one whose liveness probe
    # was locked out) lost every window and alert.
    state_path = lstmad_config.get("state", {}).get("path", "")
    checks.check("state.path is set, on the state volume",
                 bool(state) and (state_path == state[0] or state_path.startswith(state[0] + "/")), f"{state_path!r}")


def check_service_and_monitor(checks, docs, pod_labels, ports):
    svc = docs["Service"][0][1]["spec"]
    checks.check("Service selects the pod", svc["selector"].items() <= pod_labels.items())
    checks.check("Service targets the named container ports",
                 all(p["targetPort"] in ports for p in svc["ports"]), f"{svc['ports']}")
    pm = docs["PodMonitor"][0][1]["spec"]
    checks.check("PodMonitor selects the pod", pm["selector"]["matchLabels"].items() <= pod_labels.items())
    (ep,) = pm["podMetricsEndpoints"]
    checks.check("PodMonitor scrapes /metrics on the metrics port",
                 ep.get("port") == "metrics" and ep.get("path", "/metrics") == "/metrics")
    checks.check("PodMonitor sets job=lstmad (the rules select it)",
                 any(r.get("targetLabel") == "job" and r.get("replacement") == "lstmad"
                     for r in ep.get("relabelings", [])))


def check_config_runs(checks, text, state_dir):
    """The ConfigMap's lstmad.yaml, with the state directory moved to a temp dir, passes --check."""
    from daemon_harness import train_pump_model

    with tempdir() as d:
        model = train_pump_model(d, epochs=2, samples=600)
        cfg = yaml.safe_load(text)
        for m in cfg["models"]:
            target = m["path"].replace(state_dir, d)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(model, target)
        path = os.path.join(d, "lstmad.yaml")
        with open(path, "w") as f:
            f.write(text.replace(state_dir, d))
        proc = run_tool([BIN, "serve", "--config", path, "--check"])
        checks.check("the ConfigMap's lstmad.yaml passes `lstmad serve --check`", proc.returncode == 0,
                     (proc.stdout + proc.stderr).strip())
        check_probes_live(checks, text.replace(state_dir, d), d)


def check_probes_live(checks, text, d):
    """The probes' paths answer 200 on the metrics port of a running daemon."""
    from daemon_harness import Daemon

    cfg = yaml.safe_load(text)
    cfg["ingest"]["listen"] = cfg["metrics"]["listen"] = "127.0.0.1:0"
    cfg.setdefault("log", {})["format"] = "text"  # the harness reads the text log line
    path = os.path.join(d, "live.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    with Daemon(path) as daemon:
        for probe in ("/healthz", "/readyz"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{daemon.metrics_port}{probe}", timeout=10) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            checks.check(f"GET {probe} on the metrics port answers 200", status == 200, f"{status}")
        code = daemon.stop()
        checks.check("the daemon stops with 0", code == 0, f"exit {code}")


def check_image(checks, spec, c):
    """The pod's user and args fit the repository's Dockerfile."""
    with open(os.path.join(REPO, "Dockerfile")) as f:
        text = f.read()
    user = re.search(r"^USER (\d+)", text, re.M)
    entry = re.search(r'^ENTRYPOINT \["([^"]+)"\]', text, re.M)
    uid = c.get("securityContext", {}).get("runAsUser", spec.get("securityContext", {}).get("runAsUser"))
    checks.check("runAsUser is the Dockerfile's USER", bool(user) and int(user.group(1)) == uid,
                 f"{user.group(1) if user else None} vs {uid}")
    checks.check("the Dockerfile's ENTRYPOINT is lstmad, so args start with the subcommand",
                 bool(entry) and entry.group(1).endswith("/lstmad") and "command" not in c)


def main():
    checks = Checks()
    docs, names = load()
    print(f"manifests: {', '.join(names)}", flush=True)
    check_kustomization(checks, docs, names)
    text = docs["ConfigMap"][0][1]["data"]["lstmad.yaml"]
    lstmad_config = yaml.safe_load(text)
    dep = docs["Deployment"][0][1]
    spec, c, pod_labels, ports = check_pod(checks, dep, lstmad_config)
    check_volumes(checks, docs, spec, c, lstmad_config)
    check_image(checks, spec, c)
    check_service_and_monitor(checks, docs, pod_labels, ports)
    check_config_runs(checks, text, "/var/lib/lstmad")
    checks.finish()


if __name__ == "__main__":
    main()
