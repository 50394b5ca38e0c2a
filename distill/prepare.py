"""`pocketbert prepare`: raw text -> a memory-mapped token array + offsets + token counts.

Why this layout: the original script pickled a list of arrays, so the whole corpus lived in RAM in every
process (and in every DataLoader worker). Here documents are streamed from disk, tokenized in batches by the
Rust fast tokenizer (parallel across cores), cut into [CLS] ... [SEP] chunks and appended to flat files; the
trainer memory-maps them, so memory stays flat however large the corpus is.

Output dir:
  tokens.bin   all chunks back to back, dtype from meta.json (uint16 when the vocab fits, else uint32)
  offsets.bin  int64, n_sequences + 1 entries: chunk i is tokens[offsets[i]:offsets[i+1]]
  counts.npy   int64 (vocab_size,): how often each id occurs in the kept chunks (masking smoothing)
  meta.json    format, fingerprint of inputs + tokenizer + settings, sizes, special ids
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from pocketbert.core.errors import PocketbertError
from pocketbert.core.outputs import Marker

FORMAT = "pocketbert-prepared"
FORMAT_VERSION = 1
DEFAULT_MAX_LEN = 512
# Chunks with this many tokens or fewer (specials included) carry too little context to learn from
# (the DistilBERT script dropped them too).
MIN_CHUNK_TOKENS = 11
# Chunks where more than this share of the real tokens is [UNK] are noise (binary junk, another script).
MAX_UNK_RATIO = 0.5
# Documents handed to the fast tokenizer at once: large enough for its thread pool, small enough for flat memory.
TOKENIZE_BATCH_DOCS = 1000
HF_PREFIX = "hf:"
# Training units: max_len chunks of documents, or single sentences (sentence-embedding distillation).
UNITS = ("chunk", "sentence")
# A sentence of this many tokens or fewer ([CLS] and [SEP] included) is a fragment ("Yes .", headings).
MIN_SENTENCE_TOKENS = 5
# Warn when more than this share of a corpus file's bytes is not text: not UTF-8, or control characters (random
# bytes give ~60%; a Latin-1 file read as UTF-8 gives a few percent).
MAX_NON_TEXT_SHARE = 0.3
NON_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")  # U+FFFD: what an undecodable byte becomes
# prepare's own file in its output dir; `--force` replaces only dirs that carry it (pocketbert.core.outputs).
MARKER = Marker("prepare", "meta.json", ("format", "fingerprint"))


@dataclass
class PrepareResult:
    out: Path
    meta: dict
    skipped: bool  # True when the output was already up to date
    warnings: list[str] = field(default_factory=list)  # one line each, for the CLI to print


def parse_hf_spec(spec: str) -> tuple[str, str | None, str]:
    """'hf:NAME[:CONFIG]:SPLIT' -> (name, config, split)."""
    parts = spec[len(HF_PREFIX):].split(":")
    if len(parts) == 2 and all(parts):
        return parts[0], None, parts[1]
    if len(parts) == 3 and parts[0] and parts[2]:
        return parts[0], parts[1] or None, parts[2]
    raise PocketbertError(f"corpus {spec!r} is not of the form hf:NAME[:CONFIG]:SPLIT, e.g. hf:wikitext:wikitext-103-raw-v1:train")


def check_corpus(paths: list[str]) -> None:
    """Every local corpus file must exist before anything is written."""
    if not paths:
        raise PocketbertError("no --corpus given; pass one or more text files (one document per line)")
    for p in paths:
        if p.startswith(HF_PREFIX):
            parse_hf_spec(p)
            import importlib.util

            if importlib.util.find_spec("datasets") is None:
                raise PocketbertError(f"corpus {p} needs the datasets library: pip install pocketbert[hub]")
            continue
        path = Path(p)
        if not path.exists():
            raise PocketbertError(f"corpus file {p} does not exist; check the path")
        if not path.is_file():
            raise PocketbertError(f"corpus path {p} is not a file; pass text files (one document per line)")


def iter_file_documents(path: Path, doc_boundary: str, on_bytes=None, on_non_text=None) -> Iterator[str]:
    """Stream documents from a UTF-8 text file: one per line, or blank-line separated paragraphs.

    Undecodable bytes become U+FFFD (one per bad byte); `on_non_text(n)` is told how many of those and of
    control characters each line has (binary junk passed as a corpus).
    """
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        block: list[str] = []
        for line in fh:
            if on_bytes is not None:
                on_bytes(len(line.encode("utf-8", errors="replace")))
            if on_non_text is not None:
                on_non_text(len(NON_TEXT.findall(line)))
            text = line.strip()
            if doc_boundary == "line":
                if text:
                    yield text
                continue
            if text:
                block.append(text)
            elif block:
                yield " ".join(block)
                block = []
        if block:
            yield " ".join(block)


def iter_hf_documents(spec: str) -> Iterator[str]:
    """Stream the `text` column of a datasets split (needs the optional `datasets` dependency and a network)."""
    try:
        import datasets
    except ImportError as exc:
        raise PocketbertError(f"corpus {spec} needs the datasets library: pip install pocketbert[hub]") from exc
    name, config, split = parse_hf_spec(spec)
    try:
        ds = datasets.load_dataset(name, config, split=split, streaming=True)
    except Exception as exc:  # datasets raises many types for missing names / no network
        raise PocketbertError(f"cannot open {spec}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    for row in ds:
        text = " ".join(str(row.get("text", "")).split())
        if text:
            yield text


def input_fingerprint(paths: list[str]) -> list[dict]:
    """Identity of each input: path, size and mtime for files (cheap; a changed file changes its mtime)."""
    out = []
    for p in paths:
        if p.startswith(HF_PREFIX):
            out.append({"source": p})
        else:
            st = Path(p).stat()
            out.append({"source": str(Path(p).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def tokenizer_fingerprint(tokenizer) -> str:
    """sha256 of the fast tokenizer's full JSON (vocab, normalizer, pre-tokenizer)."""
    return hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest()


def chunk_document(ids: list[int], max_len: int, cls_id: int, sep_id: int) -> Iterator[list[int]]:
    """Split one document's ids into [CLS] piece [SEP] chunks of at most max_len tokens."""
    body = max_len - 2
    for start in range(0, len(ids), body):
        yield [cls_id, *ids[start:start + body], sep_id]


def _batched(it: Iterable[str], n: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in it:
        batch.append(item)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


def _backend_for(tokenizer):
    """A copy of the Rust tokenizer without the truncation / fixed padding saved tokenizers often carry (128)."""
    backend = tokenizer.backend_tokenizer.__class__.from_str(tokenizer.backend_tokenizer.to_str())
    backend.no_truncation()
    backend.no_padding()
    return backend


def load_meta(data_dir: Path) -> dict | None:
    meta_path = Path(data_dir) / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError:
        return None
    return meta if meta.get("format") == FORMAT else None


def prepare(corpus: list[str], tokenizer_name: str, out: Path, max_len: int = DEFAULT_MAX_LEN,
            doc_boundary: str = "line", force: bool = False, progress: bool = True, unit: str = "chunk",
            min_tokens: int | None = None) -> PrepareResult:
    """Tokenize `corpus` into `out`; a no-op when `out` already holds the same inputs + tokenizer + settings.

    unit "chunk": each document is cut into max_len chunks (MLM pre-training, the paper's setting); "sentence":
    each document is split into sentences and each sentence is one sequence (sentence-embedding distillation:
    short units, like the texts such a model embeds). Sequences of min_tokens or fewer (specials included) are
    dropped (default MIN_CHUNK_TOKENS for chunks, MIN_SENTENCE_TOKENS for sentences).
    """
    from tqdm import tqdm

    from pocketbert import __version__
    from pocketbert.core.atomic import atomic_output_dir, write_json
    from pocketbert.core.models import load_tokenizer
    from pocketbert.core.outputs import check_output_dir

    out = Path(out)
    check_corpus(corpus)
    existing = load_meta(out)
    # A previous prepare output is derived data, ours to replace; anything else follows the --force rule.
    replace = check_output_dir(out, force or existing is not None, MARKER, inputs=[*corpus, tokenizer_name])
    if unit not in UNITS:
        raise PocketbertError(f"--unit must be one of {', '.join(UNITS)}, got {unit!r}")
    min_tokens = min_tokens if min_tokens is not None else (MIN_CHUNK_TOKENS if unit == "chunk" else MIN_SENTENCE_TOKENS)
    if min_tokens < 2:
        raise PocketbertError(f"--min-tokens must be >= 2 ([CLS] and [SEP]), got {min_tokens}")
    if max_len <= min_tokens + 1:
        raise PocketbertError(f"--max-len {max_len} is too small; sequences of <= {min_tokens} tokens are dropped")
    if doc_boundary not in ("line", "blank"):
        raise PocketbertError(f"--doc-boundary must be line or blank, got {doc_boundary!r}")
    tokenizer = load_tokenizer(tokenizer_name)
    settings = {"max_len": max_len, "min_chunk_tokens": min_tokens, "max_unk_ratio": MAX_UNK_RATIO,
                "doc_boundary": doc_boundary, "format_version": FORMAT_VERSION}
    if unit != "chunk":  # keeps the fingerprint of chunked data unchanged
        settings["unit"] = unit
    fingerprint = hashlib.sha256(json.dumps(
        {"inputs": input_fingerprint(corpus), "tokenizer": tokenizer_fingerprint(tokenizer), "settings": settings},
        sort_keys=True).encode()).hexdigest()

    if existing is not None and existing.get("fingerprint") == fingerprint and not force:
        return PrepareResult(out, existing, skipped=True)

    vocab_size = len(tokenizer)
    dtype = np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32
    cls_id, sep_id, unk_id = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.unk_token_id
    if cls_id is None or sep_id is None:
        raise PocketbertError(f"tokenizer {tokenizer_name} has no [CLS]/[SEP] tokens; use a BERT-family tokenizer")
    backend = _backend_for(tokenizer)

    counts = np.zeros(vocab_size, dtype=np.int64)
    non_text: Counter[str] = Counter()  # corpus file -> undecodable bytes and control characters
    n_seq = n_tok = n_docs = dropped_short = dropped_unk = 0
    longest = 0
    total_bytes = sum(Path(p).stat().st_size for p in corpus if not p.startswith(HF_PREFIX))
    with atomic_output_dir(out, force=replace) as tmp, \
            open(tmp / "tokens.bin", "wb") as tok_fh, open(tmp / "offsets.bin", "wb") as off_fh, \
            tqdm(total=total_bytes or None, unit="B", unit_scale=True, desc="prepare", disable=None if progress else True) as bar:
        off_fh.write(np.zeros(1, dtype=np.int64).tobytes())

        def documents() -> Iterator[str]:
            for p in corpus:
                if p.startswith(HF_PREFIX):
                    yield from iter_hf_documents(p)
                else:
                    yield from iter_file_documents(Path(p), doc_boundary, on_bytes=bar.update,
                                                   on_non_text=lambda n, p=p: non_text.update({p: n}))

        def units() -> Iterator[str]:
            if unit == "chunk":
                yield from documents()
                return
            from pocketbert.core.corpus import split_sentences

            for doc in documents():
                yield from split_sentences(doc)

        for docs in _batched(units(), TOKENIZE_BATCH_DOCS):
            encodings = backend.encode_batch(docs, add_special_tokens=False)
            n_docs += len(docs)
            pieces: list[np.ndarray] = []
            for enc in encodings:
                for chunk in chunk_document(enc.ids, max_len, cls_id, sep_id):
                    if len(chunk) <= min_tokens:
                        dropped_short += 1
                        continue
                    arr = np.asarray(chunk, dtype=dtype)
                    if unk_id is not None and np.count_nonzero(arr == unk_id) > MAX_UNK_RATIO * (len(arr) - 2):
                        dropped_unk += 1
                        continue
                    pieces.append(arr)
            if not pieces:
                continue
            lengths = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
            flat = np.concatenate(pieces)
            counts += np.bincount(flat, minlength=vocab_size)[:vocab_size]
            tok_fh.write(flat.tobytes())
            off_fh.write((n_tok + np.cumsum(lengths)).astype(np.int64).tobytes())
            n_seq += len(pieces)
            n_tok += int(lengths.sum())
            longest = max(longest, int(lengths.max()))
        if n_seq == 0:
            raise PocketbertError(
                f"the corpus gave no {unit} longer than {min_tokens} tokens; pass text with real documents"
            )
        tok_fh.flush()
        off_fh.flush()
        os.fsync(tok_fh.fileno())
        os.fsync(off_fh.fileno())
        np.save(tmp / "counts.npy", counts, allow_pickle=False)
        meta = {
            "format": FORMAT,
            "fingerprint": fingerprint,
            "settings": settings,
            "inputs": input_fingerprint(corpus),
            "tokenizer": str(tokenizer_name),
            "tokenizer_sha256": tokenizer_fingerprint(tokenizer),
            "vocab_size": vocab_size,
            "dtype": np.dtype(dtype).name,
            "n_documents": n_docs,
            "n_sequences": n_seq,
            "n_tokens": n_tok,
            "longest": longest,
            "dropped_short": dropped_short,
            "dropped_unk": dropped_unk,
            "special_ids": sorted(int(i) for i in tokenizer.all_special_ids),
            "pad_token_id": tokenizer.pad_token_id,
            "mask_token_id": tokenizer.mask_token_id,
            "pocketbert_version": __version__,
        }
        write_json(tmp / "meta.json", meta)
    return PrepareResult(out, meta, skipped=False, warnings=non_text_warnings(non_text))


def non_text_warnings(non_text: dict[str, int]) -> list[str]:
    """One line per corpus file that is largely not text: the data was written, but it is likely noise."""
    lines = []
    for p, n in non_text.items():
        size = Path(p).stat().st_size
        if size and n / size > MAX_NON_TEXT_SHARE:
            lines.append(f"warning: {n / size:.0%} of the bytes of {p} are not text (not UTF-8, or control "
                         "characters: a binary file?); its sequences are mostly noise: check the --corpus list")
    return lines
