"""deploy/kubernetes/cluster: the cluster-mode example. The manifests parse
and kustomization.yaml lists them all; the lstmad StatefulSet is hardened
like the single-node Deployment and runs N >= 2 replicas behind a headless
Service; its configuration points at every NATS pod on the client port, with
nats.partitions equal to the P of the NATS config's partition(P,1,2) mapping
and replicas within the NATS cluster's size; the real nats-server accepts
the NATS config; and the ConfigMap's lstmad.yaml, run by two real lstmad
instances on a real 3-node NATS cluster with that mapping, scores samples
published to lstmad.in.<measurement>.<token>.
"""
import os
import re
import subprocess

import yaml

from deploy_support import BIN, DEPLOY, Checks, run_tool, tempdir
from test_kubernetes import check_image, check_pod

K8S = os.path.join(DEPLOY, "kubernetes", "cluster")


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


def by_name(docs, kind, name):
    for _, doc in docs.get(kind, []):
        if doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name}")


def check_nats_wiring(checks, docs, cfg, nats_conf):
    nats_sts = by_name(docs, "StatefulSet", "nats")
    nats_svc = by_name(docs, "Service", nats_sts["spec"]["serviceName"])
    checks.check("the NATS Service is headless", nats_svc["spec"].get("clusterIP") == "None")
    client_port = {p["name"]: p["port"] for p in nats_svc["spec"]["ports"]}["client"]
    n = nats_sts["spec"]["replicas"]
    want = {f"nats://nats-{i}.{nats_svc['metadata']['name']}:{client_port}" for i in range(n)}
    checks.check("nats.servers name every NATS pod on the client port", set(cfg["nats"]["servers"]) == want,
                 f"{cfg['nats']['servers']} vs {sorted(want)}")
    m = re.search(r'"(\S+)\.in\.\*\.\*"\s*:\s*"\1\.p\.\{\{partition\((\d+),1,2\)\}\}\.\{\{wildcard\(1\)\}\}'
                  r'\.\{\{wildcard\(2\)\}\}"', nats_conf)
    checks.check("the NATS config maps PREFIX.in.*.* to PREFIX.p.<partition(P,1,2)>.*.*", bool(m))
    if m:
        checks.check("nats.partitions equals the mapping's P", int(m.group(2)) == cfg["nats"]["partitions"],
                     f"{m.group(2)} vs {cfg['nats']['partitions']}")
        checks.check("the subject prefixes agree", m.group(1) == cfg["nats"].get("subject_prefix", "lstmad"))
    checks.check("nats.replicas fits the NATS cluster", 1 <= cfg["nats"].get("replicas", 1) <= n)
    with tempdir() as d:
        path = os.path.join(d, "nats.conf")
        with open(path, "w") as f:
            f.write(nats_conf)
        proc = subprocess.run(["/usr/sbin/nats-server", "-t", "-c", path], capture_output=True, text=True,
                              timeout=30, env={**os.environ, "POD_NAME": "nats-0"})
        checks.check("nats-server accepts the NATS config (-t)", proc.returncode == 0,
                     (proc.stdout + proc.stderr).strip())
    return int(m.group(2)) if m else cfg["nats"]["partitions"]


def check_runs(checks, cfg_text, partitions):
    """Two lstmad instances with the ConfigMap's configuration on a real NATS cluster."""
    from cluster_support import publish_rounds, scored, wait_balanced, wait_scored
    from daemon_harness import Daemon, train_pump_model
    from nats_harness import NatsClient, NatsCluster

    with tempdir() as d, NatsCluster(partitions) as nats:
        model = train_pump_model(d, epochs=2, samples=600, lookback=5, encoder="8,4", decoder="4,8")
        cfg = yaml.safe_load(cfg_text)
        cfg["ingest"]["listen"] = cfg["metrics"]["listen"] = "127.0.0.1:0"
        cfg["log"]["format"] = "text"  # the harness reads the text log line
        cfg["nats"]["servers"] = nats.urls()
        for m in cfg["models"]:
            m["path"] = model
        cfg["events"]["path"] = os.path.join(d, "events.jsonl")
        instances = []
        try:
            for i in range(2):
                path = os.path.join(d, f"lstmad-{i}.yaml")
                with open(path, "w") as f:
                    yaml.safe_dump(cfg, f)
                proc = run_tool([BIN, "serve", "--config", path, "--check"])
                checks.check(f"instance {i}: `lstmad serve --check` passes", proc.returncode == 0,
                             (proc.stdout + proc.stderr).strip())
                instances.append(Daemon(path))
            o = wait_balanced(instances, partitions, timeout=60)
            checks.check(f"the {partitions} partitions split between the two instances", sorted(o) == [6, 6], str(o))
            with NatsClient(nats.client_ports[0]) as client:
                publish_rounds(client, 100, 0, 6)
            got = wait_scored(instances, 100 * 2)
            checks.check("samples published to lstmad.in.pump.<token> are scored", got == 200, str(got))
            checks.check("by both instances", all(scored([x]) > 0 for x in instances))
        finally:
            for x in instances:
                x.stop()


def main():
    checks = Checks()
    docs, names = load()
    print(f"manifests: {', '.join(names)}", flush=True)
    kust = docs.get("Kustomization", [(None, {})])[0][1]
    checks.check("kustomization.yaml lists every manifest",
                 set(kust.get("resources", [])) == {n for n in names if n != "kustomization.yaml"})
    cm = by_name(docs, "ConfigMap", "lstmad-cluster-config")
    cfg_text = cm["data"]["lstmad.yaml"]
    cfg = yaml.safe_load(cfg_text)
    sts = by_name(docs, "StatefulSet", "lstmad")
    checks.check("lstmad runs N >= 2 replicas", sts["spec"]["replicas"] >= 2, str(sts["spec"]["replicas"]))
    svc = by_name(docs, "Service", sts["spec"]["serviceName"])
    checks.check("the lstmad StatefulSet's Service is headless and selects its pods",
                 svc["spec"].get("clusterIP") == "None"
                 and svc["spec"]["selector"].items() <= sts["spec"]["template"]["metadata"]["labels"].items())
    spec, c, pod_labels, ports = check_pod(checks, sts, cfg)
    check_image(checks, spec, c)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    checks.check("the config volume is the lstmad-cluster-config ConfigMap",
                 volumes[mounts["/etc/lstmad"]]["configMap"]["name"] == "lstmad-cluster-config")
    pm = by_name(docs, "PodMonitor", "lstmad-cluster")["spec"]
    checks.check("the PodMonitor selects the lstmad pods as job=lstmad",
                 pm["selector"]["matchLabels"].items() <= pod_labels.items()
                 and any(r.get("replacement") == "lstmad" for r in pm["podMetricsEndpoints"][0].get("relabelings", [])))
    nats_conf = by_name(docs, "ConfigMap", "nats-config")["data"]["nats.conf"]
    partitions = check_nats_wiring(checks, docs, cfg, nats_conf)
    check_runs(checks, cfg_text, partitions)
    checks.finish()


if __name__ == "__main__":
    main()
