"""Facts about the machine a measurement ran on, so results from different hosts and phones never mix silently.

Used by the host bench and by evaluation of artifacts (both write results records naming this machine)."""
from __future__ import annotations

import os
import platform
import socket
from functools import lru_cache
from importlib import metadata
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# CPU features that decide which int8 kernel a runtime picks: x86 without VNNI multiplies u8 x s8 pairs with
# vpmaddubsw, whose 16-bit sums can saturate, so the same int8 file can answer differently on AVX2, AVX-512 VNNI and
# an ARM phone (README, SQuAD: "The int8 verdicts depend on the CPU"). x86 names from /proc/cpuinfo `flags`, ARM
# names from `Features` (asimddp = SDOT, i8mm = int8 matrix multiply).
INT8_CPU_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm", "sve")


def cpuinfo_fields() -> list[tuple[str, str]]:
    """(key, value) of every `key : value` line of /proc/cpuinfo, stripped; [] where it is absent (macOS)."""
    if not CPUINFO.is_file():
        return []
    pairs = (line.partition(":") for line in CPUINFO.read_text(errors="replace").splitlines())
    return [(key.strip(), value.strip()) for key, _, value in pairs]


def cpu_model() -> str | None:
    """The CPU's marketing name (Linux /proc/cpuinfo, macOS sysctl), else platform.processor()."""
    for key, value in cpuinfo_fields():
        if key in ("model name", "Hardware", "Processor") and value:
            return value
    if platform.system() == "Darwin":
        import subprocess

        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except OSError:
            pass
    return platform.processor() or None


@lru_cache(maxsize=1)
def cpu_int8_flags() -> list[str] | None:
    """Which of INT8_CPU_FLAGS this CPU has (Linux); None where /proc/cpuinfo is absent (macOS: Apple silicon)."""
    if not CPUINFO.is_file():
        return None
    present = {flag for key, value in cpuinfo_fields() if key in ("flags", "Features") for flag in value.split()}
    return [flag for flag in INT8_CPU_FLAGS if flag in present]


# x86 features whose int8 dot products add u8 x s8 pairs in 32 bits (no vpmaddubsw saturation).
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def saturating_int8_x86(flags: list[str] | None) -> bool:
    """True for an x86 CPU (AVX2 present) without VNNI: its int8 kernels may saturate where a phone's do not."""
    return bool(flags) and "avx2" in flags and not any(f in flags for f in VNNI_FLAGS)


def gate_host() -> dict:
    """The CPU a numeric parity gate ran on, recorded with its verdict: int8 verdicts hold for that CPU."""
    return {"cpu": cpu_model(), "cpu_int8_flags": cpu_int8_flags()}


@lru_cache(maxsize=1)
def host_device() -> dict:
    """The `device` block of a results record for this machine."""
    import psutil

    return {
        "name": f"host:{socket.gethostname()}",
        "kind": "host",
        "os": platform.platform(terse=True),
        "soc": None,
        "cpu": cpu_model(),
        "cpu_int8_flags": cpu_int8_flags(),
        "cores": os.cpu_count(),
        "memory_bytes": int(psutil.virtual_memory().total),
    }


def package_version(dist: str) -> str | None:
    """Installed version of a distribution, None when absent (cheap: no import of the package)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def load_average() -> list[float] | None:
    """1/5/15-minute load average: the CPU is shared, so every record says how busy it was."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
