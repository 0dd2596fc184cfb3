#!/usr/bin/env bash
# Installs every Debian 12 package that lstmad's build, tests and benchmarks need.
# With --runtime, only the shared libraries the lstmad binary needs to run (the
# container's runtime stage uses this).
# Idempotent: packages already present are skipped by apt. Run as root (or via sudo).
set -euo pipefail

runtime_packages=(
  libyaml-cpp0.7 libprometheus-cpp-core1.0 libspdlog1.10 libfmt9
  libsystemd0 libhdf5-103-1 libhdf5-hl-100 libzip4 libssl3 libnats3.4 ca-certificates
)

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # fuzzing (libFuzzer): clang and its sanitizer runtimes
  clang libclang-rt-14-dev
  # libraries
  libeigen3-dev libboost-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev libfmt-dev
  libsystemd-dev libhdf5-dev libzip-dev libssl-dev libnats-dev nlohmann-json3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # references the tests compare against (Debian's python, not the one first on PATH)
  python3 python3-numpy python3-torch python3-h5py libopenblas0-pthread
  # real servers and tools the integration tests talk to
  prometheus prometheus-alertmanager nats-server curl
  # tools the tests of deploy/ run: systemd-analyze (systemd), /bin/kill of the
  # unit's ExecReload (procps), strace, YAML for Python
  systemd procps strace python3-yaml
)

if [[ ${1:-} == --runtime ]]; then packages=("${runtime_packages[@]}"); fi

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
