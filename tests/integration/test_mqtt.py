"""Issue 16: the MQTT input against a real broker. Debian's `mosquitto` is
the broker (a free loopback port, started by the test), `mosquitto_pub` the
sensor.

1. Line-protocol payloads on `plant/{site}/pump/{pump}` (tags from the topic)
   and JSON payloads on `json/{pump}` are scored: each stream's windows, and
   its reconstruction error equals that of the same values sent over TCP.
2. Bad payloads are counted by reason (not JSON, a field that is no number, a
   line that does not parse) and lose nothing else.
3. The broker is killed mid-stream and restarted: lstmad reconnects,
   resubscribes, and the stream's window continues (every window of the
   series scored, none restarted); TCP samples sent while the broker was
   down are scored meanwhile.
4. A persistent session (clean_session: false, QoS 1): what is published
   while lstmad is stopped arrives when it starts again.
5. Bare values (format: value), one reading per message on a topic per
   sensor, the field named by the topic's last level, timestamped on
   arrival: scored into a one-feature model; a payload that is no number is
   counted as not_value.
6. A clean stop loses nothing: 20,000 QoS 1 messages wait at the broker for
   a persistent session; lstmad is stopped (SIGTERM) while they stream in
   and started again: the two runs together ingest every one of them.
7. TLS and a password: a broker that refuses anonymous clients, over TLS
   with a certificate of the test's own CA: lstmad connects with its
   username and password file and scores; with a wrong password the broker
   refuses it, lstmad says so and goes on serving TCP.
8. lstmad_mqtt_connected is 1 once every subscription is acknowledged; a
   broker that grants a lower QoS than asked (max_qos 0) gets a warning
   naming the topic, and what arrives is still scored.
Loopback only; every wait bounded."""
import json
import math
import os
import re
import signal
import subprocess

from daemon_harness import Daemon, line, pump_values, total, train_pump_model
from lstmad_cli import Checks, run, tempdir, train_fixture
from mqtt_broker import Broker, free_port

LOOKBACK = 10
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, in seconds
NS = 1_000_000_000


def write_config(path, model, broker_port, extra="", measurement="pump"):
    """One model (named as its measurement) and an mqtt section ending with `extra`."""
    with open(path, "w") as f:
        f.write(f"""ingest:
  listen: 127.0.0.1:0
metrics:
  listen: 127.0.0.1:0
models:
  - name: {measurement}
    path: {model}
    measurement: {measurement}
mqtt:
  broker: 127.0.0.1:{broker_port}
  reconnect_min: 1s
  reconnect_max: 2s
  keepalive: 5s
{extra}""")
    return path


def lp(i, ts_scale=NS, measurement="pump"):
    """Sample i as a line-protocol line without tags (the topic gives them)."""
    fields = ",".join(f"{k}={v:.6f}" for k, v in zip(["temperature", "pressure", "vibration", "flow"],
                                                     pump_values(i)))
    return f"{measurement} {fields} {(T0 + i) * ts_scale}"


def js(i):
    """Sample i in the documented JSON form (ts in seconds)."""
    names = ["temperature", "pressure", "vibration", "flow"]
    return json.dumps({"ts": T0 + i, "fields": {k: round(v, 6) for k, v in zip(names, pump_values(i))}})


def error_of(m, stream):
    for key, value in m.items():
        if key.startswith("lstmad_stream_reconstruction_error{") and f'stream="{stream}"' in key:
            return value
    return None


def same_error(a, b):
    """Two windows' errors agree: the same samples, scored in different micro-batches (float32
    sums in another order: a few ULPs, as the daemon and the CLI differ)."""
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-5)


def windows(m):
    return total(m, "lstmad_windows_scored_total")


def scoring_both_formats(checks, daemon, broker):
    n = 20
    broker.publish("plant/north/pump/p1", [lp(i) for i in range(n)])
    broker.publish("json/p2", [js(i) for i in range(n)])
    # The same values over TCP, one stream with the tags the topic gives.
    daemon.send("".join(line("pump", {"site": "tcp", "pump": "p1"}, pump_values(i), ts=(T0 + i) * NS)
                        for i in range(n)))
    want = 3 * (n - LOOKBACK + 1)
    ok, m = daemon.poll(lambda m: windows(m) >= want, timeout=60)
    checks.check(f"line and JSON payloads and TCP all scored: {want} windows", ok and windows(m) == want,
                 str(windows(m)))
    checks.check("every message accepted (40)", total(m, "lstmad_mqtt_messages_total", outcome="accepted") == 2 * n,
                 str(total(m, "lstmad_mqtt_messages_total", outcome="accepted")))
    tcp = error_of(m, "pump,pump=p1,site=tcp")
    mqtt_line = error_of(m, "pump,pump=p1,site=north")
    mqtt_json = error_of(m, "pump,pump=p2")
    checks.check("the topic's levels name the stream (site=north, pump=p1)", mqtt_line is not None,
                 ", ".join(k for k in m if k.startswith("lstmad_stream_reconstruction_error")))
    checks.check("a line payload's window equals TCP's (the same error)", same_error(tcp, mqtt_line),
                 f"{tcp} {mqtt_line}")
    # JSON numbers were rounded to 6 decimals as the TCP line's are.
    checks.check("a JSON payload's window equals TCP's (the same error)", same_error(tcp, mqtt_json),
                 f"{tcp} {mqtt_json}")
    return want


def bad_payloads_counted(checks, daemon, broker, before):
    broker.publish_one("json/p3", "{not json")
    broker.publish_one("json/p3", json.dumps({"ts": T0, "fields": {"temperature": "hot"}}))
    broker.publish_one("plant/north/pump/p4", "pump temperature=1,pressure=oops")
    # About 2 MiB of valid lines: over the 1 MiB a message may hold.
    big = "\n".join(lp(i, measurement="pump,pump=big") for i in range(25000))
    assert len(big) > 1 << 20
    broker.publish_one("plant/north/pump/big", big)
    ok, m = daemon.poll(lambda m: total(m, "lstmad_mqtt_messages_total", outcome="refused") >= 3 and
                        total(m, "lstmad_samples_rejected_total", reason="parse_error") >= 1, timeout=30)
    checks.check("invalid JSON counted as not_json", m.get('lstmad_mqtt_refused_total{reason="not_json"}') == 1)
    checks.check("a field that is no number counted as json_shape",
                 m.get('lstmad_mqtt_refused_total{reason="json_shape"}') == 1)
    checks.check("a message over 1 MiB counted as too_large", m.get('lstmad_mqtt_refused_total{reason="too_large"}') == 1)
    checks.check("a bad line in a line payload counted as a parse error, like TCP's",
                 total(m, "lstmad_samples_rejected_total", reason="parse_error") == 1)
    checks.check("nothing else was scored or lost", windows(m) == before, str(windows(m)))
    checks.check("the daemon logged the refusal with its topic", daemon.logged("mqtt: message refused"))


def broker_restart_keeps_the_window(checks, daemon, broker, before):
    n, half = 30, 15
    broker.publish("plant/south/pump/p5", [lp(i) for i in range(half)])
    ok, m = daemon.poll(lambda m: windows(m) >= before + half - LOOKBACK + 1, timeout=30)
    checks.check("before the broker dies: the first 6 windows", ok, str(windows(m) - before))
    subscribed = broker.subscriptions()
    broker.kill()
    ok, m = daemon.poll(lambda m: m.get("lstmad_mqtt_connected{}") == 0, timeout=30)
    checks.check("lstmad sees the broker gone (lstmad_mqtt_connected 0)", ok)
    # Other inputs go on while the broker is away.
    daemon.send("".join(line("pump", {"site": "tcp", "pump": "p9"}, pump_values(i), ts=(T0 + i) * NS)
                        for i in range(LOOKBACK)))
    ok, m = daemon.poll(lambda m: windows(m) >= before + half - LOOKBACK + 2, timeout=30)
    checks.check("TCP samples are scored while the broker is down", ok)
    broker.start()
    ok, m = daemon.poll(lambda m: m.get("lstmad_mqtt_connected{}") == 1 and
                        m.get("lstmad_mqtt_connections_total{}") == 2, timeout=60)
    checks.check("lstmad reconnects (lstmad_mqtt_connections_total 2)", ok,
                 str(m.get("lstmad_mqtt_connections_total{}")))
    # Resubscribed: what is published now arrives (the broker lost every
    # subscription with its process). lstmad_mqtt_connected is 1 from the
    # CONNACK on; the subscriptions follow: wait until the broker has both.
    broker.wait_subscribed(subscribed, 2)
    broker.publish("plant/south/pump/p5", [lp(i) for i in range(half, n)])
    want = before + (n - LOOKBACK + 1) + 1
    ok, m = daemon.poll(lambda m: windows(m) >= want, timeout=60)
    checks.check("resubscribed, and the window continued: all 21 windows of the series (12 if it had restarted)",
                 ok and windows(m) == want, str(windows(m) - before - 1))
    daemon.send("".join(line("pump", {"site": "tcp", "pump": "p5"}, pump_values(i), ts=(T0 + i) * NS)
                        for i in range(n)))
    ok, m = daemon.poll(lambda m: windows(m) >= want + n - LOOKBACK + 1, timeout=60)
    tcp, mqtt = error_of(m, "pump,pump=p5,site=tcp"), error_of(m, "pump,pump=p5,site=south")
    checks.check("the last window across the restart equals TCP's", same_error(tcp, mqtt), f"{tcp} {mqtt}")


def persistent_session(checks, workdir, model, broker):
    config = write_config(os.path.join(workdir, "persistent.yaml"), model, broker.port,
                          "  client_id: lstmad-test-persistent\n  clean_session: false\n  qos: 1\n"
                          "  subscriptions:\n    - topic: plant/{site}/pump/{pump}\n")
    subscribed = broker.subscriptions()
    with Daemon(config) as daemon:
        daemon.wait_for(lambda m: m.get("lstmad_mqtt_connected{}") == 1, timeout=30, what="connected")
        # The session keeps messages only for the subscriptions it holds.
        broker.wait_subscribed(subscribed)
        checks.check("a persistent session: lstmad stops cleanly", daemon.stop() == 0)
    n = 12
    broker.publish("plant/east/pump/p6", [lp(i) for i in range(n)], qos=1)
    with Daemon(config) as daemon:
        want = n - LOOKBACK + 1
        ok, m = daemon.poll(lambda m: windows(m) >= want, timeout=60)
        checks.check("QoS 1 messages published while lstmad was away arrive when it is back: 3 windows",
                     ok and windows(m) == want and
                     total(m, "lstmad_mqtt_messages_total", outcome="accepted") == n, str(windows(m)))
        daemon.stop()


def downgraded_qos(checks, workdir, model):
    """A broker that grants QoS 0 to a QoS 1 subscription (max_qos 0): lstmad
    says so (a persistent session keeps nothing for it then) and scores what
    arrives."""
    broker = Broker(workdir, free_port(), listener="max_qos 0\n", name="mosquitto-qos0")
    broker.start()
    try:
        config = write_config(os.path.join(workdir, "qos0.yaml"), model, broker.port,
                              "  qos: 1\n  subscriptions:\n    - topic: plant/{site}/pump/{pump}\n")
        with Daemon(config) as daemon:
            daemon.wait_for(lambda m: m.get("lstmad_mqtt_connected{}") == 1, timeout=30, what="connected")
            warned = daemon.wait_for_log("granted a lower QoS than asked", timeout=10)
            checks.check("a subscription granted QoS 0 for 1 is logged with its topic and both QoS",
                         "topic=plant/+/pump/+" in warned and "qos=1" in warned and "granted_qos=0" in warned,
                         warned)
            broker.publish("plant/low/pump/p9", [lp(i) for i in range(LOOKBACK)])
            ok, m = daemon.poll(lambda m: windows(m) >= 1, timeout=30)
            checks.check("QoS 0 granted: what arrives is scored", ok and windows(m) == 1, str(windows(m)))
            checks.check("lstmad stops cleanly (QoS 0 broker)", daemon.stop() == 0)
    finally:
        if broker.proc and broker.proc.poll() is None:
            broker.kill()


def received_at_stop(daemon):
    line = daemon.wait_for_log(" stopped ", timeout=30)
    return int(re.search(r"samples_received=(\d+)", line).group(1))


def clean_stop_loses_nothing(checks, workdir, model, broker):
    import paho.mqtt.client as mqtt
    n = 20000
    # A small max_pending keeps the rest at the broker (back-pressure), so the
    # stop finds most messages there whatever the machine's speed: lstmad
    # takes at most two batches of 100 after the signal (the one being
    # handed over, and what its network thread queued until Stop).
    config = write_config(os.path.join(workdir, "stop.yaml"), model, broker.port,
                          "  client_id: lstmad-test-stop\n  clean_session: false\n  qos: 1\n"
                          "  max_pending: 100\n"
                          "  subscriptions:\n    - topic: plant/{site}/pump/{pump}\n")
    subscribed = broker.subscriptions()
    with Daemon(config) as daemon:
        daemon.wait_for(lambda m: m.get("lstmad_mqtt_connected{}") == 1, timeout=30, what="connected")
        broker.wait_subscribed(subscribed)  # the session keeps messages only for its subscriptions
        daemon.stop()
    # Queued at the broker for the session (which lstmad left), then delivered
    # as fast as it goes when lstmad comes back; it is stopped mid-stream.
    publisher = mqtt.Client(client_id="test-stop-publisher", clean_session=True)
    publisher.connect("127.0.0.1", broker.port, keepalive=30)
    publisher.loop_start()
    infos = [publisher.publish("plant/stop/pump/p1", lp(i), qos=1) for i in range(n)]
    for info in infos:
        info.wait_for_publish(timeout=30)
    publisher.loop_stop()
    publisher.disconnect()
    received = []
    with Daemon(config) as daemon:
        daemon.poll(lambda m: total(m, "lstmad_samples_received_total") >= 1, timeout=30)
        daemon.signal(signal.SIGTERM)
        received.append(received_at_stop(daemon))
        daemon.stop()
    with Daemon(config) as daemon:
        # A second or two here; a sanitizer build is 5-20 times slower.
        ok, m = daemon.poll(lambda m: received[0] + total(m, "lstmad_samples_received_total") >= n, timeout=180)
        received.append(total(m, "lstmad_samples_received_total"))
        daemon.stop()
    checks.check(f"a clean stop mid-stream loses nothing: {n} messages over two runs",
                 ok and received[0] + received[1] >= n and received[1] <= n, str(received))
    checks.check("the first run was stopped mid-stream (both runs ingested some)",
                 0 < received[0] < n, str(received))


def bare_values(checks, workdir, broker):
    csv = os.path.join(workdir, "level.csv")
    with open(csv, "w") as f:
        f.write("level\n" + "".join(f"{math.sin(i / 5):.4f}\n" for i in range(300)))
    model = os.path.join(workdir, "level.lstmad")
    train_fixture("--data", csv, "--lookback", 5, "--encoder", "8", "--decoder", "8", "--epochs", 1,
                  "--batch-size", 32, "--seed", 3, "--out", model)
    config = write_config(os.path.join(workdir, "values.yaml"), model, broker.port,
                          "  subscriptions:\n    - topic: site/{site}/tank/{tank}/+\n      format: value\n"
                          "      measurement: tank\n", measurement="tank")
    subscribed = broker.subscriptions()
    with Daemon(config) as daemon:
        daemon.wait_for(lambda m: m.get("lstmad_mqtt_connected{}") == 1, timeout=30, what="connected")
        broker.wait_subscribed(subscribed)
        # One message per reading, as a sensor publishes them; arrival order
        # is time order (one connection).
        broker.publish("site/west/tank/t1/level", [f"{math.sin(i / 5):.4f}" for i in range(12)] + ["hot"])
        want = 12 - 5 + 1
        ok, m = daemon.poll(lambda m: windows(m) >= want and
                            m.get('lstmad_mqtt_refused_total{reason="not_value"}', 0) >= 1, timeout=30)
        checks.check("bare values: 8 windows of the one-feature model, on the stream the topic names",
                     ok and windows(m) == want and error_of(m, "tank,site=west,tank=t1") is not None,
                     str(windows(m)))
        checks.check("bare values: a payload that is no number counted as not_value",
                     m.get('lstmad_mqtt_refused_total{reason="not_value"}') == 1)
        checks.check("lstmad stops cleanly", daemon.stop() == 0)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def tls_and_password(checks, workdir, model):
    d = os.path.join(workdir, "tls")
    os.makedirs(d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=broker", "-keyout", "broker.key",
            "-out", "broker.csr", cwd=d)
    with open(os.path.join(d, "broker.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "broker.ext", "-out", "broker.pem", cwd=d)
    passwords = os.path.join(d, "passwords")
    subprocess.run(["mosquitto_passwd", "-b", "-c", passwords, "lstmad", "s3cret"], check=True, timeout=30)
    subprocess.run(["mosquitto_passwd", "-b", passwords, "sensor", "pub-pass"], check=True, timeout=30)
    broker = Broker(d, free_port(), name="tls-broker", password_file=passwords,
                    listener=f"cafile {d}/ca.pem\ncertfile {d}/broker.pem\nkeyfile {d}/broker.key\n")
    broker.start()
    publish_options = ["--cafile", f"{d}/ca.pem", "-u", "sensor", "-P", "pub-pass"]
    try:
        for password, works in (("s3cret", True), ("wrong", False)):
            password_file = os.path.join(d, f"lstmad-password-{password}")
            with open(password_file, "w") as f:
                f.write(password + "\n")
            config = write_config(os.path.join(d, f"lstmad-{password}.yaml"), model, broker.port,
                                  f"  tls: {{ ca: {d}/ca.pem }}\n  username: lstmad\n"
                                  f"  password_file: {password_file}\n"
                                  "  subscriptions:\n    - topic: plant/{site}/pump/{pump}\n")
            subscribed = broker.subscriptions()
            with Daemon(config) as daemon:
                if works:
                    ok, m = daemon.poll(lambda m: m.get("lstmad_mqtt_connected{}") == 1, timeout=30)
                    checks.check("over TLS with username and password file: connected", ok)
                    broker.wait_subscribed(subscribed)
                    broker.publish("plant/tls/pump/p8", [lp(i) for i in range(LOOKBACK)], options=publish_options)
                    ok, m = daemon.poll(lambda m: windows(m) >= 1, timeout=30)
                    checks.check("over TLS: the sample's window scored", ok and windows(m) == 1, str(windows(m)))
                else:
                    checks.check("a wrong password: the broker's refusal is logged",
                                 daemon.logged("mqtt: the broker refused the connection", timeout=30))
                    daemon.send("".join(line("pump", {"pump": "tcp"}, pump_values(i), ts=(T0 + i) * NS)
                                        for i in range(LOOKBACK)))
                    ok, m = daemon.poll(lambda m: windows(m) >= 1, timeout=30)
                    checks.check("a wrong password: not connected, and TCP is scored meanwhile",
                                 ok and m.get("lstmad_mqtt_connected{}") == 0 and
                                 m.get("lstmad_mqtt_connections_total{}") == 0)
                checks.check("lstmad stops cleanly", daemon.stop() == 0)
    finally:
        broker.kill()
        print(broker.tail())


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=2, samples=800)
        # The broker queues every message for an absent persistent session
        # (Mosquitto's default keeps 1,000 and drops the rest).
        broker = Broker(d, free_port(), "max_queued_messages 0\n")
        broker.start()
        try:
            config = write_config(os.path.join(d, "lstmad.yaml"), model, broker.port, """  subscriptions:
    - topic: plant/{site}/pump/{pump}
      format: line
    - topic: json/{pump}
      format: json
      measurement: pump
""")
            subscribed = broker.subscriptions()
            with Daemon(config) as daemon:
                daemon.wait_for(lambda m: m.get("lstmad_mqtt_connected{}") == 1, timeout=30, what="connected")
                # lstmad_mqtt_connected is 1 once the broker has acknowledged
                # every SUBSCRIBE (before: from the CONNACK on, and a QoS 0
                # message published before the SUBSCRIBEs arrived was lost).
                checks.check("lstmad_mqtt_connected 1: the broker holds both subscriptions",
                             broker.subscriptions() >= subscribed + 2,
                             f"{broker.subscriptions() - subscribed} subscription(s) at the broker")
                broker.wait_subscribed(subscribed, 2)
                checks.check("the subscriptions are logged once acknowledged", daemon.logged("mqtt: subscribed"))
                scored = scoring_both_formats(checks, daemon, broker)
                bad_payloads_counted(checks, daemon, broker, scored)
                broker_restart_keeps_the_window(checks, daemon, broker, scored)
                # A reload that changes `mqtt` keeps the running client, and says so.
                with open(config) as f:
                    text = f.read()
                with open(config, "w") as f:
                    f.write(text.replace("json/{pump}", "json2/{pump}"))
                daemon.signal(signal.SIGHUP)
                checks.check("a SIGHUP that changes mqtt warns that it applies at restart",
                             daemon.logged("mqtt changes only on restart"))
                before = windows(daemon.metrics())
                broker.publish("json/p7", [js(i) for i in range(LOOKBACK)])
                ok, m = daemon.poll(lambda m: windows(m) >= before + 1, timeout=30)
                checks.check("after it, the running subscriptions go on", ok and windows(m) == before + 1)
                checks.check("lstmad stops cleanly", daemon.stop() == 0)
            persistent_session(checks, d, model, broker)
            clean_stop_loses_nothing(checks, d, model, broker)
            bare_values(checks, d, broker)
            tls_and_password(checks, d, model)
            downgraded_qos(checks, d, model)
        finally:
            if broker.proc and broker.proc.poll() is None:
                broker.kill()
            print(broker.tail())
    checks.finish()


if __name__ == "__main__":
    main()
