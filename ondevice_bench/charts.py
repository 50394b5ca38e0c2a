"""PNG charts for the report (matplotlib, Agg). Fixed model order and fixed colors, so reports compare across runs."""
from __future__ import annotations

import zlib
from pathlib import Path

from pocketbert.core import registry

# Role colors: the teacher is always blue, the student always orange; precision sets the shade.
ROLE_COLORS = {"teacher": ("#08306b", "#2171b5", "#6baed6", "#c6dbef"),
               "student": ("#7f2704", "#d94801", "#fd8d3c", "#fdd0a2")}
OTHER_COLORS = ("#1b7837", "#762a83", "#b35806", "#01665e", "#8c510a", "#c51b7d")
PRECISION_ORDER = registry.PRECISION_ORDER
DPI = 110


def infer_role(rec: dict) -> str | None:
    """teacher/student from the record, else from the model's name or architecture (distil* = student)."""
    model = rec["model"]
    if model.get("role"):
        return model["role"]
    text = f"{model.get('name', '')} {model.get('architecture') or ''}".lower()
    if "distil" in text:
        return "student"
    if "bert" in text:
        return "teacher"
    return None


def precision_rank(p: str) -> int:
    return PRECISION_ORDER.index(p) if p in PRECISION_ORDER else len(PRECISION_ORDER)


def model_sort_key(rec: dict) -> tuple:
    role = infer_role(rec)
    return ({"teacher": 0, "student": 1}.get(role, 2), rec["model"]["name"], precision_rank(rec["precision"]))


def series_color(rec: dict) -> str:
    role = infer_role(rec)
    shades = ROLE_COLORS.get(role)
    if shades:
        return shades[min(precision_rank(rec["precision"]), len(PRECISION_ORDER)) % len(shades)]
    return OTHER_COLORS[zlib.crc32(f"{rec['model']['name']}|{rec['precision']}".encode()) % len(OTHER_COLORS)]


def latency_value(rec: dict) -> float:
    """p50, or the mean where the source (benchmark_model) gives no percentiles."""
    lat = rec["latency_ms"]
    return lat["p50"] if lat.get("p50") is not None else lat["mean"]


def grouped_bars(path: Path, title: str, ylabel: str, groups: list[str], series: list[tuple[str, str, list]],
                 reference: tuple[float, str] | None = None) -> Path:
    """Bars: x = groups, one bar per series (label, color, values aligned with groups; None = no bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(7.5, 1.0 * len(groups) * max(1, len(series)) / 2 + 3), 4.0))
    width = 0.8 / max(1, len(series))
    for i, (label, color, values) in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        pts = [(x, v) for x, v in zip(xs, values) if v is not None]
        if pts:
            bars = ax.bar([p[0] for p in pts], [p[1] for p in pts], width, label=label, color=color)
            ax.bar_label(bars, fmt="%.3g", fontsize=7)
    if reference is not None:
        ax.axhline(reference[0], color="#444444", linestyle="--", linewidth=1, label=reference[1])
    ax.set_ylim(top=ax.get_ylim()[1] * 1.12)  # room for the bar labels
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def scatter(path: Path, title: str, xlabel: str, ylabel: str, points: list[tuple[str, str, float, float]]) -> Path:
    """Quality vs latency: one labelled point per (label, color, x, y); up and to the left is better."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for label, color, x, y in points:
        ax.scatter([x], [y], s=60, color=color, edgecolors="#222222", linewidths=0.5, zorder=3)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(6, 4), fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.margins(x=0.25, y=0.15)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
