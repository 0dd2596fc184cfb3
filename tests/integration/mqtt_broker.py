"""A real MQTT broker (Debian's mosquitto) on a free loopback port, and
mosquitto_pub as the sensor, for the MQTT input's tests and benchmark."""
import os
import re
import shutil
import socket
import subprocess
import time

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1:port; start() again after kill() on the same port.
    `listener`: lines for the listener (TLS files); `password_file`: a
    mosquitto_passwd file, and anonymous clients are refused."""

    def __init__(self, workdir, port, extra="", listener="", password_file=None, name="mosquitto"):
        self.port = port
        self.conf = os.path.join(workdir, f"{name}.conf")
        self.log = os.path.join(workdir, f"{name}.log")
        auth = f"allow_anonymous false\npassword_file {password_file}\n" if password_file else \
            "allow_anonymous true\n"
        with open(self.conf, "w") as f:
            # user root: run as root (CI), mosquitto would switch to its own
            # user, which cannot read the test's private directory.
            # log_type: mosquitto's defaults, and `subscribe`, which logs each
            # subscription once the broker has added it (subscriptions()).
            f.write(f"user root\nper_listener_settings false\nlistener {port} 127.0.0.1\n{listener}{auth}"
                    f"persistence false\nlog_dest file {self.log}\n"
                    "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
                    f"log_type subscribe\n{extra}")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise AssertionError("mosquitto did not start:\n" + self.tail())

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=10)

    def subscriptions(self):
        """How many subscriptions the broker has added since its log began
        (over restarts: the log is appended to). A line `<time>: <client id>
        <qos> <filter>`, written after the broker has added the subscription."""
        if not os.path.exists(self.log):
            return 0
        with open(self.log, errors="replace") as f:
            return sum(1 for row in f if re.match(r"^\d+: \S+ [012] \S+$", row.rstrip("\n")))

    def wait_subscribed(self, before, count=1, timeout=30):
        """Waits until `count` subscriptions more than `before` (an earlier
        subscriptions()) are in place. A client's connection (CONNACK) comes
        before its SUBSCRIBE: what is published in between is not delivered."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.subscriptions() >= before + count:
                return
            time.sleep(0.05)
        raise AssertionError(f"no {count} new subscription(s) at the broker within {timeout}s:\n" + self.tail())

    def tail(self):
        return open(self.log).read()[-2000:] if os.path.exists(self.log) else ""

    def publish(self, topic, messages, qos=0, options=()):
        """Each message of `messages` as one MQTT message, in order, over one
        connection (mosquitto_pub -l: for a few messages; at QoS 1 it may exit
        before thousands are acknowledged). `options`: more mosquitto_pub flags."""
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-t", topic, "-q", str(qos),
                        *options, "-l"], input="\n".join(messages) + "\n", text=True, check=True, timeout=60)

    def publish_one(self, topic, payload, qos=0):
        """`payload` as one message (read from stdin: any size)."""
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-t", topic, "-q", str(qos),
                        "-s"], input=payload, text=True, check=True, timeout=30)
