"""Training logs: one row per logged step to the console, a CSV (plots, the demo summary) and TensorBoard."""
from __future__ import annotations

import csv
import math
from pathlib import Path

from pocketbert.distill.loss_terms import LOSS_TERMS
from pocketbert.distill.validation import METRICS

LOG_CSV = "log.csv"
VAL_PREFIX = "val_"
# One loss_<term> column per row of distill/loss_terms.LOSS_TERMS (filled when its alpha is > 0), one val_<metric>
# column per held-out metric of distill/validation.METRICS.
FIELDS = ("step", "epoch", "lr", "loss", *(t.column for t in LOSS_TERMS.values()), "tokens_per_s",
          "elapsed_s", *(VAL_PREFIX + m for m in METRICS))


class RunLog:
    """Append-only on rank 0; on resume the CSV is cut back to the checkpoint's step so rows never repeat."""

    def __init__(self, run_dir: Path, enabled: bool, tensorboard: bool, resume_step: int | None = None,
                 echo=print) -> None:
        self.enabled = enabled
        self.echo = echo
        self.path = Path(run_dir) / LOG_CSV
        self.tb = None
        if not enabled:
            return
        rows = read_log(self.path) if resume_step is not None else []
        rows = [r for r in rows if int(r["step"]) <= (resume_step or 0)]
        self.fh = open(self.path, "w", newline="")
        self.writer = csv.DictWriter(self.fh, fieldnames=FIELDS)
        self.writer.writeheader()
        for r in rows:
            self.writer.writerow({k: r.get(k, "") for k in FIELDS})
        self.fh.flush()
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"), purge_step=resume_step)
            except ImportError:
                self.echo("notice: tensorboard is not installed; logging to console and CSV only")

    def log(self, row: dict) -> None:
        if not self.enabled:
            return
        self.writer.writerow({k: row.get(k, "") for k in FIELDS})
        self.fh.flush()
        if self.tb is not None:
            for k, v in row.items():
                if k not in ("step", "epoch") and isinstance(v, (int, float)):
                    self.tb.add_scalar(f"loss/{k}" if k.startswith("loss") else k, v, row["step"])
        terms = " ".join(f"{k[5:]}={row[k]:.4f}" for k in FIELDS if k.startswith("loss_") and k in row)
        self.echo(f"step {row['step']:>6} ep {row['epoch']} loss={row['loss']:.4f} ({terms}) "
                  f"lr={row['lr']:.2e} {row['tokens_per_s']:.0f} tok/s")

    def log_validation(self, step: int, metrics: dict, best: bool) -> None:
        """One CSV row (step + val_* columns only) and a console line per validation pass."""
        if not self.enabled:
            return
        row = {"step": step, **{VAL_PREFIX + k: v for k, v in metrics.items()}}
        self.writer.writerow({k: row.get(k, "") for k in FIELDS})
        self.fh.flush()
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(f"validation/{k}", v, step)
        text = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        self.echo(f"step {step:>6} held-out: {text}" + ("  (best so far)" if best else ""))

    def close(self) -> None:
        if self.enabled:
            self.fh.close()
            if self.tb is not None:
                self.tb.close()


def read_log(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def summarize(path: Path) -> dict[str, dict[str, float]]:
    """first / last / min of each loss column that was logged (for the demo's printout)."""
    rows = read_log(path)
    out: dict[str, dict[str, float]] = {}
    for key in FIELDS:
        if not key.startswith("loss"):
            continue
        vals = [float(r[key]) for r in rows if r.get(key) not in (None, "")]
        vals = [v for v in vals if not math.isnan(v)]
        if vals:
            out[key] = {"first": vals[0], "last": vals[-1], "min": min(vals)}
    return out
