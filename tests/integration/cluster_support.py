"""Shared steps of the cluster-mode tests: lstmad instances in cluster mode
on a NatsCluster, publishing pump samples through NATS, reading the
instances' metrics together. Every wait is bounded."""
import json
import os
import time
import urllib.request

from daemon_harness import Daemon, line, pump_values, total, write_config
from nats_harness import stream_token

T0_NS = 1_700_000_000_000_000_000


def cluster_config(path, model, nats, instance, partitions, lease_ttl="3s", checkpoint="500ms", extra=""):
    servers = ", ".join(nats.urls())
    return write_config(path, [{"name": "pump", "path": model, "measurement": "pump", "for": 2, "clear": 2}],
                        extra=f"""nats:
  servers: [{servers}]
  partitions: {partitions}
  replicas: 3
  lease_ttl: {lease_ttl}
  checkpoint_interval: {checkpoint}
  fetch_batch: 256
  instance_id: {instance}
""" + extra)


def start_instances(workdir, model, nats, partitions, count, **kw):
    out = []
    for i in range(count):
        cfg = cluster_config(os.path.join(workdir, f"lstmad-{i}.yaml"), model, nats, f"i{i}", partitions, **kw)
        out.append(Daemon(cfg))
    return out


def scrape_all(instances):
    return [d.metrics() for d in instances]


def owned(instances):
    return [total(m, "lstmad_cluster_owned_partitions") for m in scrape_all(instances)]


def wait_balanced(instances, partitions, timeout=40):
    """Until the partitions are spread as evenly as possible and stay so
    for a second."""
    deadline = time.time() + timeout
    want_max = -(-partitions // len(instances))
    stable_since = None
    while time.time() < deadline:
        o = owned(instances)
        if sum(o) == partitions and max(o) <= want_max:
            stable_since = stable_since or time.time()
            if time.time() - stable_since >= 1.0:
                return o
        else:
            stable_since = None
        time.sleep(0.1)
    raise AssertionError(f"partitions not balanced within {timeout}s: {owned(instances)}")


def stream_key(j):
    return f"pump,site=s{j}"


def sample_message(j, i, values=None, prefix="lstmad"):
    v = values if values is not None else pump_values(i, phase=0.1 * (j % 17))
    text = line("pump", {"site": f"s{j}"}, v, ts=T0_NS + i * 1_000_000_000).rstrip("\n")
    return (f"{prefix}.in.pump.{stream_token(stream_key(j))}", text.encode(), f"s{j}-{i}")


def publish_rounds(client, streams, start, count, values=None):
    """Samples start..start+count-1 of every stream, one round (one sample per
    stream) at a time so a retried publish never reorders a stream.
    values(j, i) may override a sample's values."""
    for i in range(start, start + count):
        client.js_publish_all([sample_message(j, i, values(j, i) if values else None) for j in range(streams)])


def subject_partition(measurement_token, key_token, partitions):
    """nats-server's partition(P,1,2): FNV-1a (32 bits) of the two tokens
    concatenated, modulo P (docs/cluster.md)."""
    h = 2166136261
    for c in (measurement_token + key_token).encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h % partitions


def batch_message(partition, lines, msg_id, prefix="lstmad"):
    """A batch message (docs/cluster.md, "Batch messages") of lines of one
    partition's streams: (subject, payload, msg_id)."""
    payload = f"#lstmad-batch {len(lines)} {msg_id}\n" + "\n".join(lines)
    return (f"{prefix}.p.{partition}.batch", payload.encode(), msg_id)


def publish_batched_round(client, streams, partitions, i, batch, values=None):
    """Sample i of every stream as batch messages of up to `batch` samples of
    one partition; the k-th messages of all partitions go in one pipelined
    call, so a retry never reorders a partition's messages."""
    by_partition = {}
    for j in range(streams):
        subject, payload, _ = sample_message(j, i, values(j, i) if values else None)
        _, _, measurement, token = subject.split(".", 3)
        by_partition.setdefault(subject_partition(measurement, token, partitions), []).append(payload.decode())
    messages = {p: [batch_message(p, lines[k:k + batch], f"b{p}-{i}-{k}") for k in range(0, len(lines), batch)]
                for p, lines in by_partition.items()}
    for k in range(max(len(m) for m in messages.values())):
        client.js_publish_all([m[k] for m in messages.values() if k < len(m)])


def stream_leaders(http_port):
    """{stream name: server name of its leader} from a NATS server's
    monitoring endpoint (/jsz with stream details)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/jsz?accounts=true&streams=true", timeout=5) as r:
        jsz = json.loads(r.read())
    out = {}
    for account in jsz.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            out[stream["name"]] = (stream.get("cluster") or {}).get("leader")
    return out


def report_nats(nats, stream="LSTMAD"):
    """What the running NATS nodes say about the partitions' streams (every
    stream whose name starts with `stream`) and their consumers (each node's
    own view: a lagging replica shows here), their client connections, and
    the warnings in their logs: printed when a cluster test's wait fails, so
    a flake names where deliveries stopped."""
    for i, port in enumerate(nats.http_ports):
        if not (nats.procs[i] and nats.procs[i].poll() is None):
            print(f"[n{i}] stopped")
            continue
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/jsz?accounts=true&streams=true&consumers=true",
                                        timeout=5) as r:
                jsz = json.loads(r.read())
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/connz?subs=false", timeout=5) as r:
                connz = json.loads(r.read())
        except OSError as e:
            print(f"[n{i}] monitoring not answering: {e}")
            continue
        for account in jsz.get("account_details") or []:
            for st in account.get("stream_detail") or []:
                if not st.get("name", "").startswith(stream):
                    continue
                state, cl = st.get("state") or {}, st.get("cluster") or {}
                replicas = [(r.get("name"), r.get("current"), r.get("lag")) for r in cl.get("replicas") or []]
                print(f"[n{i}] stream {st.get('name')}: first {state.get('first_seq')} last {state.get('last_seq')} "
                      f"messages {state.get('messages')} leader {cl.get('leader')} replicas {replicas}")
                for c in st.get("consumer_detail") or []:
                    print(f"[n{i}]   consumer {c.get('name')}: delivered {c.get('delivered')} "
                          f"ack_floor {c.get('ack_floor')} pending {c.get('num_pending')} "
                          f"ack_pending {c.get('num_ack_pending')} waiting {c.get('num_waiting')} "
                          f"leader {(c.get('cluster') or {}).get('leader')}")
        for c in connz.get("connections") or []:
            print(f"[n{i}] client {c.get('name') or c.get('cid')}: pending_bytes {c.get('pending_bytes')} "
                  f"in_msgs {c.get('in_msgs')} out_msgs {c.get('out_msgs')} subscriptions {c.get('subscriptions')}")
        # Health checks fail while the cluster forms: not what went wrong later.
        warnings = [l for l in nats.log(i, 1_000_000).splitlines()
                    if ("[WRN]" in l or "[ERR]" in l) and "Healthcheck failed" not in l]
        for l in warnings[-30:]:
            print(f"[n{i}] {l}")


def scored(instances):
    return sum(total(m, "lstmad_windows_scored_total") for m in scrape_all(instances))


def wait_scored(instances, expected, timeout=60, nats=None):
    """Until the instances scored `expected` windows in all; when they do not
    in time and `nats` is given, what its nodes say is printed first."""
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = scored(instances)
        if got >= expected:
            return got
        time.sleep(0.1)
    if nats is not None:
        report_nats(nats)
    raise AssertionError(f"windows scored {got} < {expected} after {timeout}s")


def streams_seen(metrics):
    """The stream label values of lstmad_stream_reconstruction_error series."""
    out = set()
    for key in metrics:
        if key.startswith("lstmad_stream_reconstruction_error{"):
            out.add(key.split('stream="', 1)[1].split('"', 1)[0])
    return out


def crc32c(data):
    """CRC-32C (Castagnoli, reflected), written here from its definition."""
    table = _crc32c_table()
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


_CRC32C_TABLE = []


def _crc32c_table():
    if not _CRC32C_TABLE:
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC32C_TABLE.append(c)
    return _CRC32C_TABLE


def decode_head(data):
    """A checkpoint head (docs/cluster.md) -> dict(version, sequence, delivered,
    owner, stream, chunked, generation, chunks, body_size, body_crc, body);
    stream is "" in version 1 and 2 heads."""
    import struct
    assert data[:8] == b"LSTMADCP", data[:8]
    version, seq, delivered, owner_len = struct.unpack_from("<IQQI", data, 8)
    assert version in (1, 2, 3), version
    at = 32 + owner_len
    head = dict(version=version, sequence=seq, delivered=delivered, owner=data[32:at].decode(), chunked=False,
                stream="")
    if version >= 3:
        (stream_len,) = struct.unpack_from("<I", data, at)
        head["stream"] = data[at + 4:at + 4 + stream_len].decode()
        at += 4 + stream_len
    if version >= 2:
        layout = data[at]
        at += 1
        assert layout in (0, 1), layout
        if layout == 1:
            generation, chunks, size, crc = struct.unpack_from("<QIQI", data, at)
            at += struct.calcsize("<QIQI")
            head.update(chunked=True, generation=generation, chunks=chunks, body_size=size, body_crc=crc)
    (header_crc,) = struct.unpack_from("<I", data, at)
    assert header_crc == crc32c(data[:at]), "checkpoint header CRC"
    head["body"] = data[at + 4:]
    if head["chunked"]:
        assert head["body"] == b"", "a chunked head carries no body"
    return head


def chunk_key(head_key, generation, index):
    return f"{head_key}.{generation:016x}.{index}"


def decode_checkpoint(data, read_chunk=None, head_key=None):
    """A partition checkpoint (docs/cluster.md) -> (sequence, {key: stream}),
    the layout read here independently of lstmad's decoder; a chunked one's
    chunks come from read_chunk(key) (bytes or None) and must add up to the
    head's size and CRC-32C;
    stream = dict(samples, firing, run, values [[f...]...], times_ns [...],
    fired: None or dict(time_ns, error, threshold, top_features [(name, share)...]))."""
    import struct
    head = decode_head(data)
    seq = head["sequence"]
    body = head["body"]
    if head["chunked"]:
        parts = []
        for i in range(head["chunks"]):
            chunk = read_chunk(chunk_key(head_key, head["generation"], i))
            assert chunk is not None, f"{head_key}: chunk {i} of {head['chunks']} missing"
            generation, index = struct.unpack_from("<QI", chunk, 0)
            assert (generation, index) == (head["generation"], i), (head_key, i, generation, index)
            parts.append(chunk[12:])
        body = b"".join(parts)
        assert len(body) == head["body_size"], (head_key, len(body), head["body_size"])
        assert crc32c(body) == head["body_crc"], f"{head_key}: body CRC-32C"
    assert body[:8] == b"LSTMADSS"
    off = 8
    snapshot_version, count = struct.unpack_from("<II", body, off)
    assert snapshot_version in (1, 2, 3, 4, 5), snapshot_version
    off += 8
    streams = {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", body, off)
        model = body[off + 4:off + 4 + n].decode()
        off += 4 + n
        (n,) = struct.unpack_from("<I", body, off)
        key = body[off + 4:off + 4 + n].decode()
        off += 4 + n
        lookback, features, samples, firing, run = struct.unpack_from("<IIqBI", body, off)
        off += struct.calcsize("<IIqBI")
        values = struct.unpack_from(f"<{lookback * features}f", body, off)
        off += 4 * lookback * features
        times = struct.unpack_from(f"<{lookback}q", body, off)
        off += 8 * lookback
        if snapshot_version >= 2:  # the anomaly-score detector's state: skipped here
            (n,) = struct.unpack_from("<I", body, off)
            off += 4 + n
        fired = None
        if snapshot_version >= 3:  # the event that fired a firing alert
            (has_fired,) = struct.unpack_from("<B", body, off)
            off += 1
            if has_fired:
                time_ns, error, threshold, _start, _end, top = struct.unpack_from("<qddqqI", body, off)
                off += struct.calcsize("<qddqqI")
                features_top = []
                for _ in range(top):
                    (n,) = struct.unpack_from("<I", body, off)
                    name = body[off + 4:off + 4 + n].decode()
                    off += 4 + n
                    (share,) = struct.unpack_from("<d", body, off)
                    off += 8
                    features_top.append((name, share))
                fired = dict(time_ns=time_ns, error=error, threshold=threshold, top_features=features_top)
        accepted = False
        if snapshot_version >= 4:  # the alert saw a change accepted as the new normal
            (flag,) = struct.unpack_from("<B", body, off)
            assert flag in (0, 1), flag
            accepted = flag == 1
            off += 1
        fingerprint = None
        if snapshot_version >= 5:  # the model whose errors the detector state learned
            (flag,) = struct.unpack_from("<B", body, off)
            assert flag in (0, 1), flag
            off += 1
            if flag:
                (fingerprint,) = struct.unpack_from("<I", body, off)
                off += 4
        streams[key] = dict(model=model, samples=samples, firing=bool(firing), run=run,
                            values=[list(values[k * features:(k + 1) * features]) for k in range(lookback)],
                            times_ns=list(times), fired=fired, accepted=accepted, fingerprint=fingerprint)
    return seq, streams


def iso_ns(text):
    """RFC 3339 UTC with optional fraction -> ns since the epoch."""
    import datetime
    main_part, _, frac = text.rstrip("Z").partition(".")
    dt = datetime.datetime.strptime(main_part, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 10**9 + int((frac or "0").ljust(9, "0")[:9])


def wait_quiet(instances, name="lstmad_windows_scored_total", quiet=1.5, timeout=60):
    """Until `name` summed over the instances stops changing for `quiet` s."""
    deadline = time.time() + timeout
    last, since = None, time.time()
    while time.time() < deadline:
        v = sum(total(m, name) for m in scrape_all(instances))
        if v != last:
            last, since = v, time.time()
        elif time.time() - since >= quiet:
            return v
        time.sleep(0.1)
    raise AssertionError(f"{name} still changing after {timeout}s")


def wait_settled(instances, at_least, checkpoints=None, timeout=60):
    """Windows scored summed over `instances` once the sum has reached
    `at_least` and then stopped changing (wait_quiet). wait_quiet alone may
    return before scoring has even started (a pause of 1.5 s on a loaded
    host); this waits for the count first, bounded by `timeout`.
    checkpoints=(port, partitions, samples, streams): also waits until every
    stream's checkpoint holds `samples` samples, so every sample is
    acknowledged and nothing can be scored again afterwards. Returns the sum,
    below `at_least` if the time ran out (for the caller's check to show)."""
    deadline = time.time() + timeout
    while time.time() < deadline and scored(instances) < at_least:
        time.sleep(0.1)
    if checkpoints is not None:
        port, partitions, samples, streams = checkpoints
        wait_checkpoints(port, partitions, samples, streams, timeout=max(10.0, deadline - time.time()))
    return wait_quiet(instances)


def read_checkpoints(client, partitions, bucket="LSTMAD_state"):
    """{stream key: stream} over every partition's checkpoint."""
    streams = {}
    for p in range(partitions):
        key = f"snap.{p}"
        data = client.kv_get(bucket, key)
        for _ in range(5):
            if data is None:
                break
            try:
                streams.update(decode_checkpoint(data, lambda k: client.kv_get(bucket, k), key)[1])
                break
            except AssertionError:
                # The owner may have written a newer head and purged these
                # chunks between the reads: only a head that stays the same
                # while its chunks do not add up is broken.
                again = client.kv_get(bucket, key)
                if again == data:
                    raise
                data = again
        else:
            raise AssertionError(f"{key}: no consistent checkpoint in 5 reads")
    return streams


def wait_checkpoints(port, partitions, samples, streams_expected, timeout=30):
    """Checkpoints trail scoring by up to a checkpoint interval (more while a
    NATS node is down and the state bucket elects a leader): waits until every
    stream's checkpoint has `samples` samples or the time is up; returns the
    last read."""
    from nats_harness import NatsClient
    deadline = time.time() + timeout
    with NatsClient(port) as client:
        while True:
            streams = read_checkpoints(client, partitions)
            if len(streams) == streams_expected and all(s["samples"] == samples for s in streams.values()):
                return streams
            if time.time() > deadline or any(s["samples"] > samples for s in streams.values()):
                return streams
            time.sleep(0.2)
