#!/bin/sh
# One-time setup for benchmarks/bench_arm_emulated.py: an aarch64 Python 3.11 with numpy and ai-edge-litert, and a
# static qemu-aarch64 (user mode) that runs it on this x86-64 box; everything lands in ROOT (no chroot, no binfmt,
# nothing installed). QEMU must be >= 8.1: older user-mode QEMU shows the x86 host's /proc/cpuinfo to the guest, and
# LiteRT's CPU probe (cpuinfo) crashes on it (7.2, Debian 12's own: SIGSEGV while the interpreter loads). On Debian 12
# this adds arm64 as a foreign architecture and the bookworm-backports archive to apt's sources (both only let apt
# *download* those packages; nothing from them is installed).
# Needs root, the Debian archive and PyPI. Usage: sh benchmarks/arm_emulation_setup.sh ROOT   (e.g. build/arm)
set -eu
ROOT=${1:?usage: sh benchmarks/arm_emulation_setup.sh ROOT_DIR}
PY=${PYTHON:-.venv/bin/python}
LITERT=$($PY -c "from importlib.metadata import version; print(version('ai-edge-litert'))")  # the host's version
NUMPY=$($PY -c "import numpy; print(numpy.__version__)")
mkdir -p "$ROOT/debs" "$ROOT/wheels" "$ROOT/site" "$ROOT/bin" "$ROOT/qemu"
dpkg --add-architecture arm64
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = bookworm ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/bookworm-backports.list
fi
apt-get update -qq
# qemu-user (static binaries since QEMU 10 in Debian): the newest the archives offer, unpacked into ROOT/qemu.
(cd "$ROOT/debs" && apt-get download "qemu-user/$( [ "${VERSION_CODENAME:-}" = bookworm ] && echo bookworm-backports || echo "${VERSION_CODENAME:-stable}")")
dpkg-deb -x "$ROOT"/debs/qemu-user_*.deb "$ROOT/qemu"
cp "$ROOT/qemu/usr/bin/qemu-aarch64" "$ROOT/bin/qemu-aarch64"
# Python 3.11 (Debian 12's) and the shared libraries it and LiteRT's native module load.
(cd "$ROOT/debs" && apt-get download python3.11-minimal:arm64 libpython3.11-minimal:arm64 libpython3.11-stdlib:arm64 \
  libc6:arm64 zlib1g:arm64 libexpat1:arm64 libffi8:arm64 libssl3:arm64 libgcc-s1:arm64 libstdc++6:arm64 \
  libbz2-1.0:arm64 liblzma5:arm64 libuuid1:arm64 libsqlite3-0:arm64 libcrypt1:arm64 libncursesw6:arm64 \
  libtinfo6:arm64 libreadline8:arm64 libdb5.3:arm64 libnsl2:arm64 libtirpc3:arm64)
for deb in "$ROOT"/debs/*_arm64.deb; do dpkg-deb -x "$deb" "$ROOT"; done
$PY -m pip download --quiet --only-binary=:all: --platform manylinux_2_27_aarch64 --platform manylinux_2_28_aarch64 \
  --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 --python-version 3.11 --implementation cp \
  -d "$ROOT/wheels" "ai-edge-litert==$LITERT" "numpy==$NUMPY"
for whl in "$ROOT"/wheels/*.whl; do $PY -m zipfile -e "$whl" "$ROOT/site"; done
"$ROOT/bin/qemu-aarch64" --version | head -1
PYTHONPATH="$ROOT/site" "$ROOT/bin/qemu-aarch64" -cpu cortex-a76 -L "$ROOT" "$ROOT/usr/bin/python3.11" -c \
  "import platform; from ai_edge_litert.interpreter import Interpreter; print('aarch64 LiteRT ready:', platform.machine())"
