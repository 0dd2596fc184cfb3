"""Issue 5, acceptance 1: a real Prometheus scrapes a running lstmad; after an
injected fault a PromQL query over the HTTP API shows lstmad_stream_anomalous
= 1 for that stream only, and the LstmadStreamAnomalous rule reaches state
firing. The deploy rules are used as shipped (LstmadStreamAnomalous has no
`for:`: the daemon's alert.for already judged the excursion), with scrapes and
evaluations every second.
"""
import os
import threading
import time

import yaml

from deploy_support import DEPLOY, Checks, tempdir
from prometheus_server import Prometheus

LOOKBACK = 10
# Windows per stream Prometheus must have scraped before the "no stream is
# anomalous" check: many times the 2 windows an alert needs to fire.
NORMAL_WINDOWS = 30


def prometheus_config(d, metrics_port):
    with open(os.path.join(DEPLOY, "prometheus", "prometheus.yml")) as f:
        cfg = yaml.safe_load(f)
    with open(os.path.join(DEPLOY, "prometheus", "lstmad-rules.yml")) as f:
        rules = yaml.safe_load(f)
    for group in rules["groups"]:
        group["interval"] = "1s"
    rules_path = os.path.join(d, "lstmad-rules.yml")
    with open(rules_path, "w") as f:
        yaml.safe_dump(rules, f)
    cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    cfg["rule_files"] = [rules_path]
    cfg.pop("alerting", None)
    job = next(j for j in cfg["scrape_configs"] if j["job_name"] == "lstmad")
    job.update(scrape_interval="1s", scrape_timeout="1s")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{metrics_port}"]}]
    path = os.path.join(d, "prometheus.yml")
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    return path


def main():
    from daemon_harness import Daemon, line, pump_values, train_pump_model, write_config
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=4, samples=1500)
        config = write_config(os.path.join(d, "lstmad.yaml"),
                              [{"name": "pump", "path": model, "measurement": "pump", "for": 2, "clear": 2}])
        with Daemon(config) as daemon, Prometheus(prometheus_config(d, daemon.metrics_port), d) as prom:
            fault = {"on": False}
            stop = threading.Event()

            def feed():
                sock = daemon.connect()
                i = 0
                while not stop.is_set():
                    bad = pump_values(i)
                    if fault["on"]:
                        bad[3] += 60.0  # a level shift on flow
                    sock.sendall((line("pump", {"pump": "ok"}, pump_values(i)) +
                                  line("pump", {"pump": "bad"}, bad)).encode())
                    i += 1
                    time.sleep(0.05)
                sock.close()

            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
            try:
                prom.wait_for('up{job="lstmad"} == 1', 30, "the first scrape")
                # Both streams get every round, so this scrape holds NORMAL_WINDOWS
                # of each: an alert raised on the normal traffic shows in it.
                prom.wait_for(f'lstmad_windows_scored_total{{job="lstmad"}} >= {2 * NORMAL_WINDOWS}', 30,
                              "normal windows scraped")
                quiet = prom.query('lstmad_stream_anomalous == 1')["data"]["result"]
                checks.check("no stream is anomalous before the fault", quiet == [], str(quiet))
                fault["on"] = True
                result = prom.poll('lstmad_stream_anomalous{job="lstmad", stream="pump,pump=bad"} == 1', 30)
                checks.check("PromQL shows lstmad_stream_anomalous = 1 for the faulty stream", bool(result))
                firing = prom.poll('ALERTS{alertname="LstmadStreamAnomalous", alertstate="firing"}', 30) or []
                streams = sorted(r["metric"]["stream"] for r in firing)
                checks.check("LstmadStreamAnomalous reaches firing for that stream only",
                             streams == ["pump,pump=bad"], str(streams))
                ok = prom.query('lstmad_stream_anomalous{stream="pump,pump=ok"}')["data"]["result"]
                checks.check("the other stream stays normal", all(r["value"][1] == "0" for r in ok), str(ok))
                fault["on"] = False
                resolved = prom.poll('lstmad_stream_anomalous{stream="pump,pump=bad"} == 0', 30)
                checks.check("the stream resolves once the fault ends", bool(resolved), str(resolved))
            except AssertionError as e:
                checks.check("live checks ran to the end", False, f"{e}\nprometheus log:\n{prom.log()}")
            finally:
                stop.set()
                feeder.join(timeout=5)
    checks.finish()


if __name__ == "__main__":
    main()
