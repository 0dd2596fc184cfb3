"""deploy/grafana against a real Prometheus scraping a real `lstmad serve`.

Static part: the dashboard JSON has the structure Grafana needs (unique
panel ids, non-overlapping grid positions, a Prometheus data source
variable on every query, template variables that exist) and shows what the
issue asks for; its PromQL uses only the metrics and labels of
docs/metrics.md.

Live part: Prometheus (scrape and evaluation every 1 s, the job and rules of
deploy/prometheus) scrapes a daemon fed with pump streams, an anomaly,
rejected lines and a failed reload. Then every dashboard query, with its
template variables substituted both as "All" and as one real value, runs
through /api/v1/query_range (or /api/v1/query for instant ones) and must
succeed and return data; every rule must evaluate without error; and
LstmadStreamLimitReached and LstmadConfigReloadFailed must fire from the
daemon's own metrics.
"""
import json
import os
import re
import signal
import threading
import time

import yaml

from deploy_support import DEPLOY, Checks, tempdir
from promql_contract import problems
from prometheus_server import Prometheus

DASHBOARD = os.path.join(DEPLOY, "grafana", "lstmad-dashboard.json")
PROMETHEUS_YML = os.path.join(DEPLOY, "prometheus", "prometheus.yml")
RULES = os.path.join(DEPLOY, "prometheus", "lstmad-rules.yml")
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
LOOKBACK = 10
STREAMS = 4  # limits.max_streams: a fifth stream is refused


# ---------------------------------------------------------------- static

def panels(dashboard):
    out = []
    for p in dashboard["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def queries(dashboard):
    """(where, expr, instant) of every panel target and annotation."""
    out = []
    for p in panels(dashboard):
        for t in p.get("targets", []):
            out.append((f"panel {p['id']} {p['title']!r} {t['refId']}", t.get("expr", ""), bool(t.get("instant"))))
    for a in dashboard["annotations"]["list"]:
        if "expr" in a:
            out.append((f"annotation {a['name']!r}", a["expr"], False))
    return out


def variables(dashboard):
    return {v["name"]: v for v in dashboard["templating"]["list"]}


def check_structure(checks, dashboard):
    for key in ("uid", "title", "schemaVersion", "panels", "templating", "time"):
        checks.check(f"dashboard has {key}", key in dashboard)
    ids = [p["id"] for p in panels(dashboard)]
    checks.check("panel ids are unique", len(ids) == len(set(ids)))
    cells, overlaps = {}, []
    for p in panels(dashboard):
        g = p["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    overlaps.append(f"{cells[(x, y)]} and {p['id']}")
                cells[(x, y)] = p["id"]
    checks.check("panels fit the 24-column grid and do not overlap",
                 not overlaps and all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in panels(dashboard)),
                 "; ".join(sorted(set(overlaps))[:5]))
    ds = {"type": "prometheus", "uid": "${datasource}"}
    wrong = [p["title"] for p in panels(dashboard) if p["type"] != "row" and p.get("datasource") != ds]
    wrong += [p["title"] for p in panels(dashboard) for t in p.get("targets", []) if t.get("datasource") != ds]
    checks.check("every panel and query uses the ${datasource} variable", not wrong, f"{wrong}")
    v = variables(dashboard)
    checks.check("variables datasource, instance, model, stream",
                 v.get("datasource", {}).get("type") == "datasource" and {"instance", "model", "stream"} <= set(v))
    # Streams' tags are labels (site, pump...), different per deployment: an ad hoc filter
    # applies any of them to every query of the Prometheus data source.
    checks.check("an ad hoc filter on any label (the streams' tags)",
                 v.get("filters", {}).get("type") == "adhoc"
                 and v["filters"].get("datasource") == {"type": "prometheus", "uid": "${datasource}"})
    repeats = [p for p in panels(dashboard) if p.get("repeat")]
    checks.check("a panel repeats per stream", any(p["repeat"] == "stream" for p in repeats)
                 and v["stream"].get("multi") is True)
    empty = [w for w, e, _ in queries(dashboard) if not e.strip()]
    checks.check("every query has an expression", not empty, f"{empty}")


def check_contents(checks, dashboard):
    """What the issue asks the dashboard to show, each in some panel."""
    exprs = {p["title"]: " ".join(t["expr"] for t in p.get("targets", [])) for p in panels(dashboard)}

    def some(pred):
        return any(pred(e) for e in exprs.values())

    checks.check("a panel shows a stream's error against its threshold and alert periods",
                 some(lambda e: all(m in e for m in ("lstmad_stream_reconstruction_error", "lstmad_model_threshold",
                                                     "lstmad_stream_anomalous"))))
    checks.check("alert periods per stream", some(lambda e: e.startswith("max by (model, stream) (lstmad_stream_anomalous")))
    # Not the error over the model's fixed threshold: wrong for streams on the likelihood or SPOT.
    checks.check("every stream's anomaly score, whatever its detector",
                 exprs.get("Anomaly score, every stream", "").startswith("max by (model, stream) (lstmad_stream_anomaly_score"))
    checks.check("a panel shows a feature's observed value against the expected band",
                 some(lambda e: all(m in e for m in ("lstmad_stream_feature_observed", "lstmad_stream_feature_expected{",
                                                     "lstmad_stream_feature_expected_lower",
                                                     "lstmad_stream_feature_expected_upper"))))
    checks.check("ingestion rate", some(lambda e: "rate(lstmad_samples_received_total" in e))
    checks.check("rejection rate by reason", some(lambda e: "by (reason) (rate(lstmad_samples_rejected_total" in e))
    checks.check("inference latency", some(lambda e: "lstmad_inference_duration_seconds_bucket" in e))
    checks.check("batch sizes", some(lambda e: "lstmad_inference_batch_size" in e))
    bad = [f"{w}: {p}" for w, e, _ in queries(dashboard) for p in problems(e)]
    checks.check("queries use only metrics and labels of docs/metrics.md", not bad, "; ".join(bad[:5]))


def substitute(expr, values):
    """Replaces $name and ${name}; returns (text, unknown names)."""
    unknown = []

    def repl(m):
        name = m.group(1) or m.group(2)
        if name in values:
            return values[name]
        unknown.append(name)
        return m.group(0)

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, expr), unknown


def label_values_query(variable):
    """label_values(EXPR, LABEL) of a query variable -> (EXPR, LABEL)."""
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", variable["definition"].strip())
    return m.group(1), m.group(2)


# ---------------------------------------------------------------- live

def prometheus_config(d, metrics_port):
    """deploy/prometheus/prometheus.yml pointed at the test daemon, 1 s intervals."""
    with open(PROMETHEUS_YML) as f:
        cfg = yaml.safe_load(f)
    cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    cfg["rule_files"] = [os.path.join(os.path.dirname(PROMETHEUS_YML), r) for r in cfg["rule_files"]]
    cfg.pop("alerting", None)  # no Alertmanager here
    job = next(j for j in cfg["scrape_configs"] if j["job_name"] == "lstmad")
    job.update(scrape_interval="1s", scrape_timeout="1s")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{metrics_port}"]}]
    path = os.path.join(d, "prometheus.yml")
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    return path


class Feeder(threading.Thread):
    """Sends normal samples of STREAMS pumps every 20 ms until stopped."""

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.sock = daemon.connect()
        self.stop_event = threading.Event()
        self.extra = []
        self.lock = threading.Lock()

    def send_later(self, text):
        with self.lock:
            self.extra.append(text)

    def run(self):
        from daemon_harness import line, pump_values
        i = 0
        while not self.stop_event.is_set():
            text = "".join(line("pump", {"id": s}, pump_values(i, phase=s)) for s in range(STREAMS))
            with self.lock:
                text += "".join(self.extra)
                self.extra.clear()
            self.sock.sendall(text.encode())
            i += 1
            time.sleep(0.02)
        self.sock.close()


def run_query(prom, expr, instant):
    body = prom.query(expr) if instant else prom.query_range(expr)
    ok = body.get("status") == "success"
    return ok, (body["data"]["result"] if ok else None), body.get("error", "")


def check_queries(checks, prom, dashboard, values_by_mode):
    for mode, values in values_by_mode.items():
        failed, empty = [], []
        for where, expr, instant in queries(dashboard):
            text, unknown = substitute(expr, values)
            if unknown:
                failed.append(f"{where}: unknown variables {unknown}")
                continue
            ok, result, error = run_query(prom, text, instant)
            if not ok:
                failed.append(f"{where}: {error} in {text}")
            elif not result and where.startswith("panel"):
                empty.append(f"{where}: {text}")
        n = len(queries(dashboard))
        checks.check(f"all {n} dashboard queries succeed ({mode})", not failed, "\n    ".join(failed))
        checks.check(f"every panel query returns data ({mode})", not empty, "\n    ".join(empty))


def check_variables(checks, prom, dashboard):
    """Runs each label_values() variable query; returns {name: [values]}."""
    found = {}
    values = {"instance": ".*", "model": ".*", "stream": ".*", **BUILTINS}
    for name in ("instance", "model", "stream", "feature"):
        expr, label = label_values_query(variables(dashboard)[name])
        text, _ = substitute(expr, values)
        ok, result, error = run_query(prom, text, True)
        found[name] = sorted({r["metric"].get(label) for r in result or [] if label in r["metric"]})
        checks.check(f"variable {name} lists values", ok and bool(found[name]), f"{found[name]} {error}")
    return found


def check_rules(checks, prom):
    body = prom.api("rules")
    rules = [r for g in body["data"]["groups"] for r in g["rules"]]
    with open(RULES) as f:
        expected = sum(len(g["rules"]) for g in yaml.safe_load(f)["groups"])
    checks.check(f"Prometheus loaded the {expected} rules of lstmad-rules.yml", len(rules) == expected, f"{len(rules)}")
    bad = [f"{r['name']}: {r.get('health')} {r.get('lastError', '')}" for r in rules
           if r.get("health") != "ok" or r.get("lastError")]
    checks.check("every rule evaluates without error against real metrics", not bad, "; ".join(bad))


def firing(prom, alertname, timeout=60):
    return prom.wait_for(f'ALERTS{{alertname="{alertname}", alertstate="firing"}}', timeout, f"{alertname} firing")


def main():
    checks = Checks()
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    check_structure(checks, dashboard)
    check_contents(checks, dashboard)

    from daemon_harness import Daemon, line, total, train_pump_model, write_config
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=4, samples=1500)
        config = os.path.join(d, "lstmad.yaml")
        # export: the observed-versus-expected panel's series.
        models = [{"name": "pump", "path": model, "measurement": "pump", "for": 2, "clear": 2,
                   "export": "[observed, expected, band]"}]
        write_config(config, models, f"limits:\n  max_streams: {STREAMS}\nevents:\n  path: {d}/events.jsonl\n")
        with Daemon(config) as daemon, Prometheus(prometheus_config(d, daemon.metrics_port), d) as prom:
            feeder = Feeder(daemon)
            feeder.start()
            try:
                prom.wait_for('up{job="lstmad"} == 1', 30, "the first scrape")
                daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") >= STREAMS, what="scoring")
                # A stuck-high sensor on pump 0: its lstmad alert fires.
                feeder.send_later("".join(line("pump", {"id": 0}, [500, 90, 40, 900]) for _ in range(5)))
                # Lines of a fifth stream (refused at max_streams) and two broken lines.
                feeder.send_later(line("pump", {"id": 99}, [60, 4, 0.5, 120]) * 3
                                  + "garbage\nunknown_measurement value=1\n")
                daemon.wait_for(lambda m: total(m, "lstmad_stream_anomalies_total") >= 1, what="an anomaly")
                # A reload that fails: the daemon keeps its configuration.
                with open(config, "w") as f:
                    f.write("models: []\n")
                daemon.signal(signal.SIGHUP)
                daemon.wait_for(lambda m: total(m, "lstmad_config_reloads_total", result="failure") == 1,
                                what="the failed reload")
                write_config(config, models, f"limits:\n  max_streams: {STREAMS}\n")
                # Rates need two scrapes inside the 1m windows: wait for several.
                prom.wait_for('count_over_time(lstmad_build_info{job="lstmad"}[1m]) >= 8', 60, "eight scrapes")

                found = check_variables(checks, prom, dashboard)
                esc = lambda v: re.escape(v).replace("\\", "\\\\")  # as Grafana's regex formatting
                one = {"instance": esc(found["instance"][0]) if found["instance"] else "x",
                       "model": "pump", "stream": esc(found["stream"][0]) if found["stream"] else "x",
                       "feature": esc(found["feature"][0]) if found["feature"] else "x"}
                check_queries(checks, prom, dashboard, {
                    "variables All": {"instance": ".*", "model": ".*", "stream": ".*", "feature": ".*", **BUILTINS},
                    "one value each": {**one, **BUILTINS}})
                # The same checks notice a broken and a wrong query (controls).
                ok, _, _ = run_query(prom, "sum by (model) (rate(lstmad_samples_received_total[1m])", False)
                checks.check("a syntax error is reported (control)", not ok)
                ok, result, _ = run_query(prom, 'lstmad_samples_received_total{model="nope"}', False)
                checks.check("a wrong label value returns no data (control)", ok and not result)
                check_rules(checks, prom)
                for alertname in ("LstmadStreamLimitReached", "LstmadConfigReloadFailed"):
                    result = firing(prom, alertname)
                    checks.check(f"{alertname} fires from the daemon's metrics", True,
                                 json.dumps(result[0]["metric"], sort_keys=True))
                alerts = {a["labels"]["alertname"]: a for a in prom.api("alerts")["data"]["alerts"]}
                summary = alerts.get("LstmadStreamLimitReached", {}).get("annotations", {}).get("summary", "")
                checks.check("the alert's summary names the daemon",
                             f"127.0.0.1:{daemon.metrics_port}" in summary, summary)
            except AssertionError as e:
                checks.check("live checks ran to the end", False, f"{e}\nprometheus log:\n{prom.log()}")
            finally:
                feeder.stop_event.set()
                feeder.join(timeout=10)
            code = daemon.stop()
            checks.check("lstmad exits 0 on SIGTERM", code == 0, f"exit {code}")
    checks.finish()


if __name__ == "__main__":
    main()
