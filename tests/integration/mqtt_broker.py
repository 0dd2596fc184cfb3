"""A real MQTT broker (Debian's mosquitto) on a free loopback port, and
mosquitto_pub as the sensor, for the MQTT input's tests and benchmark."""
import os
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
    """mosquitto on 127.0.0.1:port; start() again after kill() on the same port."""

    def __init__(self, workdir, port, extra=""):
        self.port = port
        self.conf = os.path.join(workdir, "mosquitto.conf")
        self.log = os.path.join(workdir, "mosquitto.log")
        with open(self.conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    f"log_dest file {self.log}\n{extra}")
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

    def tail(self):
        return open(self.log).read()[-2000:] if os.path.exists(self.log) else ""

    def publish(self, topic, messages, qos=0):
        """Each message of `messages` as one MQTT message, in order, over one connection."""
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-t", topic, "-q", str(qos),
                        "-l"], input="\n".join(messages) + "\n", text=True, check=True, timeout=60)

    def publish_one(self, topic, payload, qos=0):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-t", topic, "-q", str(qos),
                        "-m", payload], check=True, timeout=30)
