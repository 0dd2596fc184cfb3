"""Prometheus remote write 1.0 bodies made by hand, for the integration
tests and the benchmark: the WriteRequest protobuf written field by field
(prompb: WriteRequest.timeseries = 1; TimeSeries.labels = 1, .samples = 2;
Label.name = 1, .value = 2; Sample.value = 1 (double), .timestamp = 2
(int64)), and snappy's block format with literals only (valid snappy that
any decoder reads; no compression). No snappy or protobuf module needed."""
import struct
import urllib.error
import urllib.request

STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def write_request(series):
    """series: [(labels dict incl. __name__, [(value, timestamp_ms), ...]), ...] -> protobuf bytes."""
    out = b""
    for labels, samples in series:
        ts = b""
        for name in sorted(labels):
            ts += _field(1, _field(1, name.encode()) + _field(2, labels[name].encode()))
        for value, t in samples:
            ts += _field(2, b"\x09" + struct.pack("<d", value) + b"\x10" + varint(t))
        out += _field(1, ts)
    return out


def snappy_literal(data):
    """`data` as a snappy block of literals (at most 60 bytes each: a one-byte tag)."""
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 60):
        chunk = data[i:i + 60]
        out.append((len(chunk) - 1) << 2)
        out += chunk
    return bytes(out)


def post(port, body, headers=None, timeout=10):
    """POSTs `body` to /api/v1/write; returns (status, text)."""
    h = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
         "X-Prometheus-Remote-Write-Version": "0.1.0"}
    h.update(headers or {})
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/write", data=body, headers=h, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
