"""Shared steps of the cluster-mode tests: lstmad instances in cluster mode
on a NatsCluster, publishing pump samples through NATS, reading the
instances' metrics together. Every wait is bounded."""
import os
import time

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


def scored(instances):
    return sum(total(m, "lstmad_windows_scored_total") for m in scrape_all(instances))


def wait_scored(instances, expected, timeout=60):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = scored(instances)
        if got >= expected:
            return got
        time.sleep(0.1)
    raise AssertionError(f"windows scored {got} < {expected} after {timeout}s")


def streams_seen(metrics):
    """The stream label values of lstmad_stream_reconstruction_error series."""
    out = set()
    for key in metrics:
        if key.startswith("lstmad_stream_reconstruction_error{"):
            out.add(key.split('stream="', 1)[1].split('"', 1)[0])
    return out


def decode_checkpoint(data):
    """A partition checkpoint (docs/cluster.md) -> (sequence, {key: stream}),
    the layout read here independently of lstmad's decoder;
    stream = dict(samples, firing, run, values [[f...]...], times_ns [...],
    fired: None or dict(time_ns, error, threshold, top_features [(name, share)...]))."""
    import struct
    assert data[:8] == b"LSTMADCP", data[:8]
    version, seq, _delivered, owner_len = struct.unpack_from("<IQQI", data, 8)
    assert version == 1
    body = data[32 + owner_len + 4:]  # past the owner and the header's CRC
    assert body[:8] == b"LSTMADSS"
    off = 8
    snapshot_version, count = struct.unpack_from("<II", body, off)
    assert snapshot_version in (1, 2, 3), snapshot_version
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
        streams[key] = dict(model=model, samples=samples, firing=bool(firing), run=run,
                            values=[list(values[k * features:(k + 1) * features]) for k in range(lookback)],
                            times_ns=list(times), fired=fired)
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


def read_checkpoints(client, partitions, bucket="LSTMAD_state"):
    """{stream key: stream} over every partition's checkpoint."""
    streams = {}
    for p in range(partitions):
        data = client.kv_get(bucket, f"snap.{p}")
        if data is not None:
            streams.update(decode_checkpoint(data)[1])
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
