"""deploy/prometheus: promtool accepts the scrape configuration and the alert
rules, the promtool unit tests (lstmad-rules.test.yml) pass and cover every
alert (firing and not firing), every alert has summary, description and a
runbook section in docs/operations.md, and the expressions use only the
metrics and labels of docs/metrics.md.
"""
import os

import yaml

from deploy_support import DEPLOY, HERE, Checks, operations_anchors, run_tool, tool
from promql_contract import problems

PROMETHEUS_DIR = os.path.join(DEPLOY, "prometheus")
RULES = os.path.join(PROMETHEUS_DIR, "lstmad-rules.yml")
RULE_TESTS = os.path.join(HERE, "lstmad-rules.test.yml")


def promtool_checks(checks, promtool):
    for args, what in (
            (["check", "config", os.path.join(PROMETHEUS_DIR, "prometheus.yml")], "promtool check config"),
            (["check", "rules", RULES], "promtool check rules"),
            (["test", "rules", RULE_TESTS], "promtool test rules")):
        proc = run_tool([promtool, *args], cwd=HERE)
        out = (proc.stdout + proc.stderr).strip()
        print(out, flush=True)
        checks.check(what, proc.returncode == 0, f"exit {proc.returncode}")


def alerts():
    with open(RULES) as f:
        groups = yaml.safe_load(f)["groups"]
    return [rule for g in groups for rule in g["rules"] if "alert" in rule]


def coverage(checks, rules):
    with open(RULE_TESTS) as f:
        tests = yaml.safe_load(f)["tests"]
    firing, quiet = set(), set()
    for test in tests:
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    for rule in rules:
        name = rule["alert"]
        checks.check(f"{name}: a unit test shows it firing", name in firing)
        checks.check(f"{name}: a unit test shows it not firing", name in quiet)
    unknown = (firing | quiet) - {r["alert"] for r in rules}
    checks.check("unit tests name only existing alerts", not unknown, f"{sorted(unknown)}")


def annotations(checks, rules):
    anchors = operations_anchors()
    names = [r["alert"] for r in rules]
    checks.check("alert names are unique", len(names) == len(set(names)))
    for rule in rules:
        name, ann = rule["alert"], rule.get("annotations", {})
        checks.check(f"{name}: summary and description", bool(ann.get("summary")) and bool(ann.get("description")))
        # info: news that needs no action now (LstmadChangeAccepted).
        checks.check(f"{name}: severity info, warning or critical",
                     rule.get("labels", {}).get("severity") in ("info", "warning", "critical"))
        runbook = ann.get("runbook", "")
        anchor = runbook.partition("#")[2]
        checks.check(f"{name}: runbook docs/operations.md#{name.lower()} exists",
                     runbook.startswith("docs/operations.md#") and anchor == name.lower() and anchor in anchors,
                     runbook)
        bad = problems(rule["expr"])
        checks.check(f"{name}: metrics and labels as in docs/metrics.md", not bad, "; ".join(bad))


def main():
    checks = Checks()
    promtool = tool("promtool")
    print(run_tool([promtool, "--version"]).stdout.splitlines()[0], flush=True)
    promtool_checks(checks, promtool)
    rules = alerts()
    print(f"{len(rules)} alerts: {', '.join(r['alert'] for r in rules)}", flush=True)
    coverage(checks, rules)
    annotations(checks, rules)
    # The checker itself notices a wrong name, label and value.
    checks.check("the contract check rejects mistakes (control)",
                 len(problems('lstmad_sample_received_total + lstmad_streams{stream="x"}'
                              ' + lstmad_samples_rejected_total{reason="bad"}')) == 3)
    checks.finish()


if __name__ == "__main__":
    main()
