"""docs/metrics.md against a live scrape: every family the daemon exports
after the scenario of metrics_scenario.py (windows scored, alerts, rejected
lines, a model with `retrain`) is documented in the doc's family tables with
the same type and label names, has HELP and TYPE lines, and every documented
family is exported, except the few in NOT_EXPORTED_HERE, each with the
reason a single-node scrape cannot show it. Also the doc's count of series
per stream.
"""
import os
import re
import sys

import metrics_scenario
from lstmad_cli import REPO, Checks, tempdir

DOC = os.path.join(REPO, "docs", "metrics.md")

# Documented families this scenario cannot export, and why.
CLUSTER_ONLY = "cluster mode only: registered when a `nats:` section is configured, which needs NATS servers"
NOT_EXPORTED_HERE = {name: CLUSTER_ONLY for name in [
    "lstmad_cluster_owned_partitions", "lstmad_cluster_live_instances", "lstmad_cluster_nats_connected",
    "lstmad_cluster_lease_changes_total", "lstmad_cluster_samples_consumed_total",
    "lstmad_cluster_redelivered_samples_total", "lstmad_cluster_duplicate_deliveries_total",
    "lstmad_cluster_fetch_errors_total", "lstmad_cluster_consumer_restarts_total",
    "lstmad_cluster_checkpoints_total", "lstmad_cluster_nats_errors_total", "lstmad_cluster_batch_mismatches_total",
    "lstmad_cluster_forwarded_samples_total", "lstmad_cluster_forward_queue_lines",
]}
for name in ("lstmad_remote_write_requests_total", "lstmad_remote_write_samples_total",
             "lstmad_remote_write_pending_samples"):
    NOT_EXPORTED_HERE[name] = ("only once a model has `remote_write`, which the golden scenario's model has not "
                               "(it would change the golden exposition); test_remote_write_node_exporter.py "
                               "exercises these families")
NOT_EXPORTED_HERE["lstmad_guard_overrides_total"] = (
    "only for models with `guards`, which the golden scenario's model has not (adding them would change "
    "the golden exposition); test_daemon_guards.py checks this family against docs/metrics.md")
for _name in ("lstmad_snapshot_failures_total", "lstmad_snapshot_last_success_timestamp_seconds"):
    NOT_EXPORTED_HERE[_name] = (
        "only with `state.path`, which the golden scenario has not (adding it would change the golden "
        "exposition); test_daemon_state_files.py checks both families, exported and absent")

for _name in ("lstmad_stream_feature_observed", "lstmad_stream_feature_expected",
              "lstmad_stream_feature_expected_lower", "lstmad_stream_feature_expected_upper",
              "lstmad_stream_feature_error_share"):
    NOT_EXPORTED_HERE[_name] = (
        "only for models with `export`, which the golden scenario's model has not (adding it would change the "
        "golden exposition); test_remote_write_out.py exports all five and runs promtool on them")
for _name in ("lstmad_remote_write_out_samples_total", "lstmad_remote_write_out_requests_total",
              "lstmad_remote_write_out_queue_samples"):
    NOT_EXPORTED_HERE[_name] = (
        "only with `remote_write_out`, which needs a receiver; test_remote_write_out.py checks them")

for _name in ("lstmad_mqtt_connected", "lstmad_mqtt_connections_total", "lstmad_mqtt_messages_total",
              "lstmad_mqtt_refused_total"):
    NOT_EXPORTED_HERE[_name] = "only with `mqtt`, which needs a broker; test_mqtt.py checks them"

# Labels a type adds to its samples that the doc's Labels column leaves out.
TYPE_LABELS = {"histogram": {"le"}, "summary": {"quantile"}}
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def documented_families(markdown):
    """{name: (type, set of label names)} from every table row under
    "## Families" whose first cell is a `name`. In the Labels cell, names are
    the `code` spans outside parentheses (those list a label's values);
    "none" is no label."""
    out = {}
    section = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        if section != "Families" or not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        name, kind, labels = cells[0].strip("`"), cells[1], cells[2]
        labels = re.sub(r"\([^)]*\)", "", labels)
        out[name] = (kind, set(re.findall(r"`([^`]+)`", labels)))
    return out


def exported_families(text):
    """{name: (type, set of label names)} from the exposition, and the names
    that have a HELP line."""
    types, helps, labels = {}, set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            labels.setdefault(name, set())
        elif line.startswith("# HELP "):
            helps.add(line.split(" ", 3)[2])
        elif line and not line.startswith("#"):
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s', line)
            name = m.group(1)
            family = next((f for f, k in types.items() if name == f
                           or (name.startswith(f) and name[len(f):] in SUFFIXES.get(k, ()))), None)
            if family is None:
                raise AssertionError(f"sample without a TYPE line: {line}")
            pairs = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            names = set(pairs)
            # A stream's tags are labels too; the doc names them `<tag>`.
            tags = {kv.split("=", 1)[0] for kv in pairs.get("stream", "").split(",")[1:] if "=" in kv}
            if names & tags:
                names = (names - tags) | {"<tag>"}
            labels[family] |= names - TYPE_LABELS.get(types[family], set())
    return {name: (kind, labels[name]) for name, kind in types.items()}, helps


def main():
    checks = Checks()
    with open(DOC) as f:
        doc = f.read()
    documented = documented_families(doc)
    with tempdir() as d:
        text, _ = metrics_scenario.run(d)
    exported, helps = exported_families(text)
    checks.check("the doc's tables were read", len(documented) > 20, f"{len(documented)} families")
    checks.check("the scrape has families", len(exported) > 20, f"{len(exported)} families")

    for name, (kind, labels) in sorted(exported.items()):
        if name not in documented:
            checks.check(f"{name} is documented", False, f"exported as {kind} with labels {sorted(labels)}, "
                         "missing from docs/metrics.md")
            continue
        doc_kind, doc_labels = documented[name]
        checks.check(f"{name}: type {kind}", doc_kind == kind, f"docs/metrics.md says {doc_kind}")
        checks.check(f"{name}: labels {sorted(labels)}", doc_labels == labels,
                     f"docs/metrics.md says {sorted(doc_labels)}")
        checks.check(f"{name}: has HELP", name in helps)

    for name in sorted(documented):
        if name in exported:
            continue
        if name in NOT_EXPORTED_HERE:
            print(f"skip {name}: {NOT_EXPORTED_HERE[name]}")
        else:
            checks.check(f"{name} (documented) is exported", False,
                         "docs/metrics.md documents it; /metrics lacks it")

    # The scenario's model keeps detector.anomaly_score at its default (true),
    # so every per-stream family is exported.
    per_stream = sorted(n for n, (_, labels) in exported.items() if "stream" in labels)
    said = re.search(r"Series labelled by `stream` \((\w+) per stream", doc)
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
    checks.check("the series-per-stream count in docs/metrics.md", said is not None
                 and words.get(said.group(1)) == len(per_stream),
                 f"doc says {said.group(1) if said else '(sentence not found)'}, exported: {per_stream}")
    for name in sorted(NOT_EXPORTED_HERE):
        checks.check(f"exception {name} is still documented", name in documented)
        checks.check(f"exception {name} is indeed not exported here", name not in exported)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
