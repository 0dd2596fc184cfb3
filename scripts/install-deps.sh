#!/usr/bin/env bash
# Installs the Debian 12 packages lstmad needs. Modes:
#   (none)      everything the build, the tests and the benchmarks need;
#   --build     only what building and running the lstmad binary needs, and
#               curl (scripts/demo.sh): no fuzzing compiler, Python, test
#               servers or test libraries;
#   --runtime   only the shared libraries the lstmad binary needs to run (the
#               container's runtime stage uses this).
# With --list after the mode, prints the packages instead of installing them.
# Idempotent: packages already present are skipped by apt. Run as root (or via sudo).
set -euo pipefail

runtime_packages=(
  libyaml-cpp0.7 libprometheus-cpp-core1.0 libspdlog1.10 libfmt9
  libsystemd0 libhdf5-103-1 libhdf5-hl-100 libzip4 libssl3 libnats3.4 zlib1g ca-certificates
  libprotobuf-lite32 libsnappy1v5 libmosquitto1
)

build_packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config
  # libraries
  libeigen3-dev libboost-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev libfmt-dev
  libsystemd-dev libhdf5-dev libzip-dev libssl-dev libnats-dev nlohmann-json3-dev zlib1g-dev
  # Prometheus remote write: protobuf (compiler and lite runtime), snappy
  libprotobuf-dev protobuf-compiler libsnappy-dev
  # the MQTT input (libmosquitto)
  libmosquitto-dev
  # the demo polls /metrics
  curl
)

packages=(
  "${build_packages[@]}" git
  # a compiler cache: scripts/test.sh's builds recompile only what changed
  ccache
  # fuzzing (libFuzzer): clang and its sanitizer runtimes
  clang libclang-rt-14-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # references the tests compare against (Debian's python, not the one first on PATH)
  python3 python3-numpy python3-torch python3-h5py libopenblas0-pthread
  # a real InfluxDB client writes through the HTTP write API
  python3-influxdb
  # real servers and tools the integration tests talk to
  prometheus prometheus-alertmanager prometheus-node-exporter nats-server
  # an MQTT broker and its publisher (the MQTT input's tests)
  mosquitto mosquitto-clients
  # an MQTT client library for Python (bench/http_ingest_bench.py's publisher)
  python3-paho-mqtt
  # collectd (write_graphite) feeding the Graphite listener
  collectd-core
  # tools the tests of deploy/ run: systemd-analyze (systemd), /bin/kill of the
  # unit's ExecReload (procps), strace, YAML for Python
  systemd procps strace python3-yaml
  # the web console's browser test (tests/integration/test_console.py): headless chromium
  chromium
)

case ${1:-} in
  --runtime) packages=("${runtime_packages[@]}"); shift ;;
  --build) packages=("${build_packages[@]}"); shift ;;
  --list | "") ;;
  *) echo "usage: scripts/install-deps.sh [--build|--runtime] [--list]" >&2; exit 2 ;;
esac
if [[ ${1:-} == --list ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present" >&2
fi
