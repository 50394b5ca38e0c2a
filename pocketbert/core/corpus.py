"""The corpus every Python install has: the English help text in `pydoc_data.topics`.

It lets `pocketbert demo`, parity checks and tests run on real English with no network and no data files.
"""
from __future__ import annotations

import re
from pathlib import Path

# Paragraphs shorter than this are headings or code fragments, not prose.
MIN_PARAGRAPH_CHARS = 80


def embedded_paragraphs() -> list[str]:
    """Prose paragraphs of the pydoc topics, in a fixed order (sorted topic names), whitespace-folded."""
    from pydoc_data.topics import topics

    paragraphs: list[str] = []
    for name in sorted(topics):
        for block in re.split(r"\n\s*\n", topics[name]):
            text = " ".join(block.split())
            # Skip code blocks (indented, prompt lines) and tables: prose has mostly letters and spaces.
            if len(text) < MIN_PARAGRAPH_CHARS or text.startswith((">>>", "...")):
                continue
            letters = sum(ch.isalpha() or ch.isspace() for ch in text)
            if letters / len(text) < 0.85:
                continue
            paragraphs.append(text)
    return paragraphs


# A sentence ends at . ! or ? followed by space and a capital (or an opening quote / bracket before one).
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z])")


def split_sentences(text: str) -> list[str]:
    """Rule-based sentence split (no model, no download): good enough to turn paragraphs into training units."""
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def embedded_sentences(limit: int | None = None) -> list[str]:
    """Sentences from the embedded paragraphs, for parity checks and benchmark inputs."""
    out: list[str] = []
    for para in embedded_paragraphs():
        for sent in split_sentences(para):
            if len(sent.split()) >= 6:
                out.append(sent)
                if limit is not None and len(out) >= limit:
                    return out
    return out


def write_embedded_corpus(path: Path) -> Path:
    """Write the embedded paragraphs as a text file, one document per line (the `prepare` input format)."""
    from pocketbert.core.atomic import atomic_file

    with atomic_file(Path(path)) as fh:
        for para in embedded_paragraphs():
            fh.write(para + "\n")
    return Path(path)
