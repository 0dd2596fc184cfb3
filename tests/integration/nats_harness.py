"""A real 3-node NATS JetStream cluster on free loopback ports for the
cluster-mode tests, plus a minimal NATS client over a raw socket (there is
no Python NATS library here; the text protocol is CONNECT/PUB/HPUB/SUB/PING).

Every wait is bounded; NatsCluster kills its servers on exit.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

NATS_SERVER = os.environ.get("NATS_SERVER", "/usr/sbin/nats-server")


def free_ports(n):
    """n distinct free loopback ports (all bound at once, then released)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def stream_token(key):
    """The subject-safe token of a stream key (docs/cluster.md): bytes outside
    [A-Za-z0-9_=,-] become %XX."""
    out = []
    for b in key.encode():
        c = chr(b)
        out.append(c if c.isascii() and (c.isalnum() or c in "_=,-") else f"%{b:02X}")
    return "".join(out)


class NatsCluster:
    """nodes=3 nats-server processes with JetStream, clustered, with the
    partition mapping lstmad.in.*.* -> lstmad.p.<partition(P,1,2)>.*.*;
    max_payload (bytes) overrides the servers' default of 1 MiB."""

    def __init__(self, partitions, nodes=3, prefix="lstmad", max_payload=None, start=True):
        """start=False only picks the ports and writes the configurations:
        urls() names a cluster that is not running until start_all()."""
        self.dir = tempfile.mkdtemp(prefix="lstmad-nats-")
        self.partitions = partitions
        self.prefix = prefix
        self.procs = [None] * nodes
        if not start:
            self._configure(nodes, prefix, partitions, max_payload)
            return
        # Free ports are picked before the servers bind them: another test
        # may take one meanwhile. A node that then cannot bind dies at once;
        # the cluster is started again on other ports (bounded).
        for attempt in range(3):
            self._configure(nodes, prefix, partitions, max_payload)
            for i in range(nodes):
                self.start(i)
            try:
                self.wait_ready()
                return
            except AssertionError as e:
                for i in range(nodes):
                    self.stop(i)
                if "address already in use" not in str(e) or attempt == 2:
                    raise
                shutil.rmtree(self.dir, ignore_errors=True)
                os.makedirs(self.dir)

    def _configure(self, nodes, prefix, partitions, max_payload):
        ports = free_ports(3 * nodes)  # all distinct
        self.client_ports = ports[:nodes]
        self.cluster_ports = ports[nodes:2 * nodes]
        self.http_ports = ports[2 * nodes:]
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.cluster_ports)
        payload = f"max_payload: {int(max_payload)}\n" if max_payload is not None else ""
        self.configs = []
        for i in range(nodes):
            cfg = os.path.join(self.dir, f"n{i}.conf")
            with open(cfg, "w") as f:
                f.write(f"""
server_name: n{i}
listen: 127.0.0.1:{self.client_ports[i]}
http: 127.0.0.1:{self.http_ports[i]}
{payload}jetstream {{ store_dir: "{self.dir}/store{i}", max_memory_store: 64MB, max_file_store: 2GB }}
cluster {{ name: lstmadtest, listen: 127.0.0.1:{self.cluster_ports[i]}, routes: [{routes}] }}
mappings {{
  "{prefix}.in.*.*": "{prefix}.p.{{{{partition({partitions},1,2)}}}}.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}"
}}
""")
            self.configs.append(cfg)

    def start_all(self, timeout=60):
        """Starts every node on the ports chosen at construction (the ones
        clients were already told) and waits until JetStream is ready."""
        for i in range(len(self.procs)):
            self.start(i)
        self.wait_ready(timeout)

    def urls(self):
        return [f"nats://127.0.0.1:{p}" for p in self.client_ports]

    def start(self, i):
        log = open(os.path.join(self.dir, f"n{i}.log"), "a")
        self.procs[i] = subprocess.Popen([NATS_SERVER, "-c", self.configs[i]], stdout=log, stderr=log)

    def stop(self, i):
        p = self.procs[i]
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)

    def wait_ready(self, timeout=60, nodes=None):
        """JetStream healthy on every running node and a meta leader elected."""
        deadline = time.time() + timeout
        nodes = [i for i, p in enumerate(self.procs) if p and p.poll() is None] if nodes is None else nodes
        for i in nodes:
            while True:
                if self.procs[i] is not None and self.procs[i].poll() is not None:
                    raise AssertionError(f"nats node {i} exited {self.procs[i].returncode}:\n" + self.log(i))
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.http_ports[i]}/healthz", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise AssertionError(f"nats node {i} not healthy within {timeout}s:\n" + self.log(i))
                time.sleep(0.1)
        while True:
            try:
                with NatsClient(self.client_ports[nodes[0]]) as c:
                    info = json.loads(c.request("$JS.API.INFO", b"", timeout=2))
                    if "error" not in info:
                        return
            except (OSError, TimeoutError, AssertionError):
                pass
            if time.time() > deadline:
                raise AssertionError("JetStream API not available:\n" + self.log(nodes[0]))
            time.sleep(0.2)

    def log(self, i, chars=3000):
        """The last `chars` characters of node i's log."""
        try:
            with open(os.path.join(self.dir, f"n{i}.log")) as f:
                return f.read()[-chars:]
        except OSError:
            return ""

    def close(self):
        for i in range(len(self.procs)):
            p = self.procs[i]
            if p and p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class NatsClient:
    """Just enough of the NATS client protocol: publish, JetStream publish
    with acks and dedup ids (HPUB + reply inbox), request/reply."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.inbox = "_INBOX." + base64.b32encode(os.urandom(10)).decode().rstrip("=")
        self.replies = {}
        self.cond = threading.Condition()
        self.pongs = 0
        self.calls = 0  # js_publish_all calls: each has its own reply subjects
        self.closed = False
        line = self._readline()
        if not line.startswith(b"INFO"):
            raise AssertionError(f"not a NATS server: {line!r}")
        self._send(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n'
                   b"SUB " + self.inbox.encode() + b".* 1\r\n")
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()
        self.flush()

    def _send(self, data):
        self.sock.sendall(data)

    def _readline(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("NATS connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _readn(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("NATS connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _read_loop(self):
        try:
            self.sock.settimeout(None)
            while True:
                line = self._readline()
                if line.startswith(b"MSG ") or line.startswith(b"HMSG "):
                    parts = line.split()
                    total = int(parts[-1])
                    hdr = int(parts[-2]) if parts[0] == b"HMSG" else 0
                    data = self._readn(total)
                    headers, payload = data[:hdr], data[hdr:]
                    with self.cond:
                        self.replies[parts[1].decode()] = (headers, payload)
                        self.cond.notify_all()
                elif line.startswith(b"PING"):
                    self._send(b"PONG\r\n")
                elif line.startswith(b"PONG"):
                    with self.cond:
                        self.pongs += 1
                        self.cond.notify_all()
                elif line.startswith(b"-ERR"):
                    with self.cond:
                        self.replies["-ERR"] = (b"", line)
                        self.cond.notify_all()
        except (OSError, ConnectionError):
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def flush(self, timeout=10):
        with self.cond:
            want = self.pongs + 1
        self._send(b"PING\r\n")
        with self.cond:
            if not self.cond.wait_for(lambda: self.pongs >= want or self.closed, timeout):
                raise TimeoutError("no PONG")
            if self.closed:
                raise ConnectionError("NATS connection closed")

    def publish(self, subject, payload):
        self._send(b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(payload), payload))

    def request(self, subject, payload, timeout=5):
        reply = f"{self.inbox}.r{time.monotonic_ns()}"
        self._send(b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), reply.encode(), len(payload), payload))
        with self.cond:
            if not self.cond.wait_for(lambda: reply in self.replies or self.closed, timeout):
                raise TimeoutError(f"no reply to {subject}")
            if self.closed:
                raise ConnectionError("NATS connection closed")
            return self.replies.pop(reply)[1]

    def js_publish_all(self, messages, timeout=30):
        """messages: [(subject, payload, msg_id)]; publishes them pipelined to
        JetStream and waits for every ack, retrying (same Nats-Msg-Id, so the
        server drops duplicates) what got no ack or an error. Callers keep one
        message per stream in a call, so a retry never reorders a stream.

        Each call has reply subjects of its own: a message sent twice (its
        first ack came after the retry went out) is acknowledged twice, and
        the second ack must not pass for a later call's. Reused subjects let
        a call return at once on the previous call's late acks, its own
        messages unconfirmed: the likeliest cause of a whole round missing
        once in CI (docs/cluster.md)."""
        with self.cond:
            self.calls += 1
            call = self.calls
            # Late acks of earlier calls are of no use now.
            for stale in [r for r in self.replies if r.startswith(f"{self.inbox}.c")]:
                del self.replies[stale]
        pending = {f"{self.inbox}.c{call}m{i}": m for i, m in enumerate(messages)}
        deadline = time.time() + timeout
        while pending:
            out = []
            for reply, (subject, payload, msg_id) in pending.items():
                hdr = b"NATS/1.0\r\nNats-Msg-Id: %s\r\n\r\n" % msg_id.encode()
                out.append(b"HPUB %s %s %d %d\r\n%s%s\r\n" % (subject.encode(), reply.encode(), len(hdr),
                                                              len(hdr) + len(payload), hdr, payload))
            self._send(b"".join(out))
            wait_until = min(deadline, time.time() + 5)
            with self.cond:
                self.cond.wait_for(lambda: all(r in self.replies for r in pending) or self.closed,
                                   max(0.0, wait_until - time.time()))
                for reply in list(pending):
                    got = self.replies.pop(reply, None)
                    if got is not None and b'"seq"' in got[1] and b'"error"' not in got[1]:
                        del pending[reply]
            if self.closed:
                raise ConnectionError("NATS connection closed")
            if pending and time.time() > deadline:
                raise AssertionError(f"{len(pending)} publishes not acknowledged within {timeout}s")

    def kv_get(self, bucket, key):
        """The latest value of a KV key (bytes), or None (absent, deleted or
        purged), read through the bucket stream's leader."""
        req = json.dumps({"last_by_subj": f"$KV.{bucket}.{key}"}).encode()
        rep = json.loads(self.request(f"$JS.API.STREAM.MSG.GET.KV_{bucket}", req))
        if "error" in rep:
            return None
        if b"KV-Operation" in base64.b64decode(rep["message"].get("hdrs", "")):
            return None
        return base64.b64decode(rep["message"].get("data", ""))

    def kv_put(self, bucket, key, value):
        """Stores a KV value (a JetStream publish to $KV.<bucket>.<key>)."""
        rep = json.loads(self.request(f"$KV.{bucket}.{key}", value))
        if "error" in rep:
            raise AssertionError(f"kv put {bucket}/{key}: {rep}")

    def kv_subjects(self, bucket, prefix=""):
        """{key: messages} of every key in the bucket's stream starting with
        `prefix` (deleted keys included while their marker remains; purged
        ones are gone)."""
        req = json.dumps({"subjects_filter": f"$KV.{bucket}.{prefix}>"}).encode()
        rep = json.loads(self.request(f"$JS.API.STREAM.INFO.KV_{bucket}", req))
        if "error" in rep:
            raise AssertionError(f"stream info KV_{bucket}: {rep}")
        skip = len(f"$KV.{bucket}.")
        return {subject[skip:]: n for subject, n in (rep["state"].get("subjects") or {}).items()}

    def close(self):
        # A round trip first, so the server has read everything sent (plain
        # publishes have no ack); a socket closed with replies still unread
        # is reset, and what the server had not read yet may be lost.
        try:
            if not self.closed:
                self.flush(timeout=5)
        except (OSError, TimeoutError, ConnectionError):
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
