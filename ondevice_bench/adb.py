"""A thin `adb` wrapper: find it, pick one device, run shell commands, push files — each failure one line."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pocketbert.core.errors import PocketbertError

ADB_TIMEOUT_S = 1800  # a BERT-base run on a slow phone with many runs takes minutes


class Adb:
    def __init__(self, adb_path: str | None = None, serial: str | None = None) -> None:
        found = adb_path or shutil.which("adb")
        if not found or not Path(found).exists():
            where = f"{adb_path} does not exist" if adb_path else "adb is not on PATH"
            raise PocketbertError(f"{where}; install Android platform-tools or pass --adb PATH")
        self.path = str(found)
        self.serial = self._pick(serial)

    def _run(self, args: list[str], with_serial: bool = True) -> str:
        cmd = [self.path] + (["-s", self.serial] if with_serial and getattr(self, "serial", None) else []) + args
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=ADB_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PocketbertError(f"`{' '.join(cmd[:4])} …` failed: {exc}") from exc
        if proc.returncode != 0:
            msg = (proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}").splitlines()[-1]
            raise PocketbertError(f"`adb {' '.join(args[:2])}` failed: {msg}")
        return proc.stdout

    def devices(self) -> list[str]:
        """Serials of devices in the `device` state (not offline/unauthorized)."""
        out = self._run(["devices"], with_serial=False)
        serials = []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1] == "device" and not line.startswith("List of"):
                serials.append(parts[0])
        return serials

    def _pick(self, serial: str | None) -> str:
        serials = self.devices()
        if serial:
            if serial not in serials:
                raise PocketbertError(f"device {serial} is not connected (adb lists: {', '.join(serials) or 'none'})")
            return serial
        if not serials:
            raise PocketbertError("adb lists no device; connect a phone with USB debugging on (and authorize it)")
        if len(serials) > 1:
            raise PocketbertError(f"adb lists {len(serials)} devices ({', '.join(serials)}); choose one with --serial")
        return serials[0]

    def shell(self, *args: str) -> str:
        return self._run(["shell", *args])

    def push(self, local: Path, remote: str) -> None:
        self._run(["push", str(local), remote])

    def getprop(self, key: str) -> str | None:
        value = self.shell("getprop", key).strip()
        return value or None
