"""prepare: memmap + offsets + counts, chunking, short-chunk dropping, no-op re-run, streaming."""
from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from pocketbert.cli import cli
from pocketbert.distill.data import GroupedBatchSampler, PreparedData
from pocketbert.distill.prepare import MIN_CHUNK_TOKENS

LONG_DOC = " ".join(f"word{i % 17} alpha beta gamma" for i in range(60))  # ~ 300+ tokens


def _corpus(path):
    path.write_text("\n".join([
        LONG_DOC,
        "too short.",  # [CLS] too short . [SEP] = 5 tokens -> dropped
        "",
        "the quick brown fox jumps over the lazy dog and keeps running through the field all day",
    ]) + "\n")
    return path


def _prepare(args):
    return CliRunner().invoke(cli, ["prepare", *args])


def test_prepare_writes_memmap_offsets_counts(tmp_path):
    corpus = _corpus(tmp_path / "c.txt")
    out = tmp_path / "data"
    res = _prepare(["--corpus", str(corpus), "--tokenizer", "minilm", "--out", str(out), "--max-len", "64"])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "meta.json").read_text())
    data = PreparedData(out)
    lengths = np.diff(np.asarray(data.offsets))
    assert len(data) == meta["n_sequences"] and lengths.sum() == meta["n_tokens"]
    assert lengths.max() <= 64 and lengths.min() > MIN_CHUNK_TOKENS
    assert meta["dropped_short"] >= 1
    for i in range(len(data)):
        seq = data[i]
        assert seq[0] == 101 and seq[-1] == 102  # [CLS] ... [SEP]
    # the long document became several chunks whose bodies concatenate back to its tokens
    from pocketbert.core.models import load_tokenizer

    tok = load_tokenizer("minilm")
    long_ids = tok(LONG_DOC, add_special_tokens=False, truncation=False)["input_ids"]
    n_long = -(-len(long_ids) // 62)
    body = np.concatenate([data[i][1:-1] for i in range(n_long)])
    assert body.tolist() == long_ids
    counts = np.load(out / "counts.npy", allow_pickle=False)
    assert counts.shape == (len(tok),) and counts.sum() == meta["n_tokens"]
    assert counts[101] == len(data)
    assert not list(out.glob("*.pkl")) and not list(out.glob("*.pickle"))


def test_prepare_rerun_is_noop_and_change_rebuilds(tmp_path):
    corpus = _corpus(tmp_path / "c.txt")
    out = tmp_path / "data"
    args = ["--corpus", str(corpus), "--tokenizer", "minilm", "--out", str(out), "--max-len", "64"]
    assert _prepare(args).exit_code == 0
    mtime = (out / "tokens.bin").stat().st_mtime_ns
    res = _prepare(args)
    assert res.exit_code == 0 and "up to date" in res.output
    assert (out / "tokens.bin").stat().st_mtime_ns == mtime
    res = _prepare(args[:-1] + ["32"])  # other settings -> rebuilt
    assert res.exit_code == 0 and "written" in res.output
    assert PreparedData(out).lengths.max() <= 32


def test_prepare_streams_in_batches(tmp_path, monkeypatch):
    """The tokenizer only ever sees TOKENIZE_BATCH_DOCS documents at a time: the corpus is never held whole."""
    import pocketbert.distill.prepare as prep

    monkeypatch.setattr(prep, "TOKENIZE_BATCH_DOCS", 7)
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"document number {i} has a handful of ordinary english words in it\n" for i in range(50)))
    seen: list[int] = []
    real = prep._backend_for

    class Spy:
        def __init__(self, inner):
            self.inner = inner

        def encode_batch(self, docs, **kw):
            seen.append(len(docs))
            return self.inner.encode_batch(docs, **kw)

    monkeypatch.setattr(prep, "_backend_for", lambda tok: Spy(real(tok)))
    res = prep.prepare([str(corpus)], "minilm", tmp_path / "d", max_len=64, progress=False)
    assert res.meta["n_documents"] == 50 and res.meta["n_sequences"] == 50
    assert max(seen) <= 7 and sum(seen) == 50


def test_blank_line_documents(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("first paragraph line one with words\nand line two with more words\n\nsecond paragraph "
                      "alone here with enough words to keep\n")
    res = _prepare(["--corpus", str(corpus), "--tokenizer", "minilm", "--out", str(tmp_path / "d"),
                    "--doc-boundary", "blank"])
    assert res.exit_code == 0, res.output
    assert PreparedData(tmp_path / "d").meta["n_documents"] == 2


def _drain(sampler):
    out = []
    while (b := sampler.next_batch()) is not None:
        out.append(b)
    return out


def test_sampler_groups_by_length_covers_all_and_changes_per_epoch():
    lengths = np.random.default_rng(0).integers(12, 128, size=1000).astype(np.int32)
    s = GroupedBatchSampler(lengths, batch_size=10, seed=1)
    s.set_epoch(0)
    e0 = _drain(s)
    assert sorted(np.concatenate(e0).tolist()) == list(range(1000))
    spread = np.mean([np.ptp(lengths[b]) for b in e0])
    assert spread < 20  # grouped: a random batch of 10 would span ~90 tokens
    s.set_epoch(1)
    e1 = _drain(s)
    assert [b.tolist() for b in e0] != [b.tolist() for b in e1]
    # two ranks split an epoch without overlap
    r0 = GroupedBatchSampler(lengths, 10, seed=1, rank=0, world_size=2)
    r1 = GroupedBatchSampler(lengths, 10, seed=1, rank=1, world_size=2)
    a = np.concatenate(_drain(r0))
    b = np.concatenate(_drain(r1))
    assert len(set(a.tolist()) & set(b.tolist())) == 0 and len(a) + len(b) == 1000
