"""ParityReport: the verdict of a parity gate, as `convert` writes it into the manifest's `parity` block (§5).

In core because two producers build it, numeric parity (convert/parity.py) and the Core ML spec check where Core ML
cannot run (convert/coreml_spec.py), and neither should import the other.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ParityReport:
    status: str  # passed | failed | spec-only
    runtime: str
    n: int
    outputs: dict[str, dict[str, float]] = field(default_factory=dict)
    task_agreement: float | None = None
    thresholds: dict = field(default_factory=dict)
    note: str = ""
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (check, ok, detail) for the table
    host: dict | None = None  # the CPU a numeric gate ran on (device_info.gate_host); None for spec-only checks
    precision: str | None = None  # the artifact's (for the int8 caveat of `render`; the manifest has its own)

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "spec-only")

    def as_manifest(self) -> dict:
        return {
            "status": self.status, "runtime": self.runtime, "n": self.n, "outputs": self.outputs,
            "task_agreement": self.task_agreement, "thresholds": self.thresholds, "note": self.note,
            **({"host": self.host} if self.host else {}),
        }
