"""Readers for the tab-separated task files: GLUE-style classification TSV and the STS Benchmark CSV.

Both are read with quoting off (csv.QUOTE_NONE): SST-2 and STS-B sentences contain bare double quotes that
the default csv dialect would swallow, silently merging rows.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pocketbert.core.errors import PocketbertError

# Header names GLUE uses for text columns, in the order they pair up.
TEXT_COLUMNS = ("sentence", "sentence1", "sentence2", "question", "question1", "question2", "text", "text_a",
                "text_b", "premise", "hypothesis")
LABEL_COLUMN = "label"
# STS-B columns: genre, file, year, id, score, sentence1, sentence2, [sources...]
STS_SCORE, STS_S1, STS_S2 = 4, 5, 6


@dataclass
class ClsData:
    texts: list[tuple[str, ...]]  # one or two texts per row
    labels: list[int]
    text_columns: list[str]

    @property
    def num_labels(self) -> int:
        return max(self.labels) + 1


@dataclass
class StsData:
    pairs: list[tuple[str, str]]
    scores: list[float]


def _rows(path: Path) -> list[list[str]]:
    path = Path(path)
    if not path.is_file():
        raise PocketbertError(f"data file {path} does not exist; check the path")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if r and any(c.strip() for c in r)]
    if not rows:
        raise PocketbertError(f"data file {path} is empty; pass a tab-separated file with a header line")
    return rows


def read_cls_tsv(path: Path, limit: int | None = None) -> ClsData:
    """`sentence\\tlabel` (or two text columns + label) with a header line; labels must be integers >= 0."""
    rows = _rows(path)
    header = [h.strip().lower() for h in rows[0]]
    label_idx = header.index(LABEL_COLUMN) if LABEL_COLUMN in header else len(header) - 1
    known = LABEL_COLUMN in header or any(h in TEXT_COLUMNS for h in header)
    if not known and header[label_idx].lstrip("-").isdigit():
        # Without this the first example silently becomes the header (and is lost from training).
        raise PocketbertError(
            f"{path}: the first line {rows[0]} looks like an example, not a header; add a header line such as "
            "`sentence\tlabel` or `sentence1\tsentence2\tlabel`")
    text_idx = [i for i, h in enumerate(header) if h in TEXT_COLUMNS]
    if not text_idx:
        text_idx = [i for i in range(len(header)) if i != label_idx][:2]
    if not text_idx or len(text_idx) > 2:
        raise PocketbertError(
            f"{path}: cannot tell the text columns from the header {rows[0]}; use `sentence\\tlabel` or "
            "`sentence1\\tsentence2\\tlabel`")
    texts, labels = [], []
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) <= max(label_idx, *text_idx):
            raise PocketbertError(f"{path}:{line_no}: expected {len(header)} tab-separated columns, got {len(row)}")
        raw = row[label_idx].strip()
        try:
            label = int(raw)
        except ValueError:
            raise PocketbertError(f"{path}:{line_no}: label {raw!r} is not an integer; labels must be 0, 1, ...") from None
        if label < 0:
            raise PocketbertError(f"{path}:{line_no}: label {label} is negative; labels must be 0, 1, ...")
        texts.append(tuple(row[i] for i in text_idx))
        labels.append(label)
        if limit and len(labels) >= limit:
            break
    if not labels:
        raise PocketbertError(f"{path} has a header but no rows; add labelled examples")
    return ClsData(texts, labels, [header[i] for i in text_idx])


def read_sts(path: Path, limit: int | None = None) -> StsData:
    """STS Benchmark rows (no header): the gold score and the two sentences."""
    pairs, scores = [], []
    for line_no, row in enumerate(_rows(path), start=1):
        if len(row) <= STS_S2:
            raise PocketbertError(
                f"{path}:{line_no}: expected STS-B columns genre, file, year, id, score, sentence1, sentence2")
        try:
            scores.append(float(row[STS_SCORE]))
        except ValueError:
            raise PocketbertError(f"{path}:{line_no}: score {row[STS_SCORE]!r} is not a number") from None
        pairs.append((row[STS_S1], row[STS_S2]))
        if limit and len(pairs) >= limit:
            break
    return StsData(pairs, scores)


def read_text_lines(path: Path, limit: int | None = None) -> list[str]:
    """Non-empty lines of a text file (held-out text for masked-LM evaluation)."""
    path = Path(path)
    if not path.is_file():
        raise PocketbertError(f"text file {path} does not exist; check the path")
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        raise PocketbertError(f"text file {path} is empty; pass held-out text, one document per line")
    return lines[:limit] if limit else lines
