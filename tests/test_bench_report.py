"""`pocketbert report` from a fixed results file: pages, tables, PNG charts (saved and embedded), ratios."""
from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pocketbert.bench.report import ratio_rows, write_report
from pocketbert.cli import cli
from pocketbert.core.errors import PocketbertError
from pocketbert.core.results import read_records

FIXTURE = Path(__file__).parent / "fixtures" / "bench" / "results_fixture.jsonl"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report"
    res = CliRunner().invoke(cli, ["report", str(FIXTURE), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_pages_per_device_and_summary(report):
    names = sorted(p.name for p in report.iterdir() if p.suffix in (".md", ".html"))
    assert names == ["device-google-pixel-7.html", "device-google-pixel-7.md", "device-host-ci.html",
                     "device-host-ci.md", "index.html", "index.md"]
    index = (report / "index.html").read_text()
    assert 'href="device-host-ci.html"' in index and "Google Pixel 7" in index
    assert "(device-host-ci.md)" in (report / "index.md").read_text()


def test_host_page_tables_ratios_and_random_weights_note(report):
    md = (report / "device-host-ci.md").read_text()
    # DistilBERT/BERT table: fp32 175/364 and int8 71/142, sizes 265/436 and 68/113.
    assert "| litert | xnnpack | 2 | fp32 | 384 | 364.0 | 175.0 | 0.481 | 2.08x | 0.608 |" in md
    assert "| litert | xnnpack | 2 | int8-dynamic | 384 | 142.0 | 71.0 | 0.500 | 2.00x | 0.602 |" in md
    assert "RANDOM weights" in md and "| litert | 2.3.0 | xnnpack | 2 |" in md
    rows = [ln for ln in md.splitlines() if ln.startswith("| bert-base") or ln.startswith("| distilbert-base")]
    # fixed order: teacher before student, fp32 before int8
    assert [r.split(" | ")[0] + "/" + r.split(" | ")[6] for r in rows] == [
        "| bert-base/fp32", "| bert-base/int8-dynamic", "| distilbert-base/fp32", "| distilbert-base/int8-dynamic"]
    assert "passed (max_abs 3e-06)" in md


def test_phone_page_uses_mean_and_infers_roles(report):
    md = (report / "device-google-pixel-7.md").read_text()
    assert "| tflite_benchmark_model | xnnpack | 4 | int8-dynamic | 384 | 95.4 | 48.2 | 0.505 |" in md
    assert "squad_f1 86.1" in md


def test_pngs_saved_and_embedded(report):
    pngs = sorted((report / "png").glob("*.png"))
    assert {p.name for p in pngs} >= {"host-ci-latency.png", "host-ci-speedup.png", "host-ci-memory.png",
                                      "host-ci-size.png", "google-pixel-7-latency.png"}
    html = (report / "device-host-ci.html").read_text()
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(embedded) == 4 and "<table>" in html and "<img" in html and 'src="png/' not in html
    saved = {p.read_bytes() for p in pngs if p.name.startswith("host-ci")}
    assert all(base64.b64decode(e).startswith(PNG_MAGIC) and base64.b64decode(e) in saved for e in embedded)
    assert "![latency by model x precision x seq len](png/host-ci-latency.png)" in (report / "device-host-ci.md").read_text()


def test_ratio_rows_only_pair_matching_settings():
    recs = read_records([FIXTURE])
    assert [(r["precision"], r["threads"]) for r in ratio_rows(recs)] == [("fp32", 2), ("int8-dynamic", 2), ("int8-dynamic", 4)]


def test_report_refuses_foreign_dir_and_replaces_its_own(tmp_path, report):
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(PocketbertError, match="not written by `pocketbert report`"):
        write_report([FIXTURE], foreign)
    again = tmp_path / "again"
    shutil.copytree(report, again)
    write_report([FIXTURE], again)  # only the report's own files: replaced without --force
    (again / "png" / "stale.png").write_bytes(b"x")
    with pytest.raises(PocketbertError, match="--force"):  # a file the report did not write
        write_report([FIXTURE], again)
    write_report([FIXTURE], again, force=True)
    assert not (again / "png" / "stale.png").exists()


def _pair_records(teacher_rounds, student_rounds, interleave_id="r1"):
    """The fixture's host fp32 teacher/student records, as if timed in interleaved rounds."""
    import copy

    recs = [r for r in read_records([FIXTURE]) if r["device"]["name"] == "host:ci" and r["precision"] == "fp32"]
    out = []
    for rec, rounds in zip(recs, (teacher_rounds, student_rounds)):
        rec = copy.deepcopy(rec)
        rec["extra"]["interleave"] = {"id": interleave_id, "rounds": len(rounds), "runs_per_round": 4,
                                      "models": 2, "order": "ABBA"}
        rec["extra"]["round_p50_ms"] = rounds
        out.append(rec)
    return out


def test_interleaved_ratio_is_the_median_of_rounds_with_its_spread():
    from pocketbert.bench.report import UNSTABLE_RATIO_SPREAD, spread_text

    # The noisy host: the teacher steady at ~540 ms, the student between 254 and 564 ms.
    noisy = _pair_records([540, 541, 539, 540, 542], [254, 564, 330, 270, 500])
    (row,) = ratio_rows(noisy)
    per_round = sorted(s / t for s, t in zip([254, 564, 330, 270, 500], [540, 541, 539, 540, 542]))
    assert row["latency_ratio"] == round(per_round[2], 3) and row["rounds"] == 5
    lo, hi = row["ratio_iqr"]
    assert lo < row["latency_ratio"] < hi and (hi - lo) / row["latency_ratio"] > UNSTABLE_RATIO_SPREAD
    assert row["unstable"] is True and spread_text(row).endswith("over 5 rounds UNSTABLE")
    (row,) = ratio_rows(_pair_records([540, 545, 538, 541, 539], [270, 268, 275, 271, 269]))
    assert row["unstable"] is False and 0.49 < row["latency_ratio"] < 0.51 and "UNSTABLE" not in spread_text(row)
    # Records of different interleaved measurements are not paired round by round.
    t, s = _pair_records([540, 541], [270, 271])
    s["extra"]["interleave"]["id"] = "other"
    (row,) = ratio_rows([t, s])
    assert row["ratio_iqr"] is None and spread_text(row) == "not interleaved"


def test_paper_table_joins_accuracy_with_bucketed_latency(tmp_path):
    import copy

    base = [r for r in read_records([FIXTURE]) if r["device"]["name"] == "host:ci" and r["threads"] == 2]
    records = []
    for rec in base:  # two seq-len buckets per model x precision: 384 (fixture) and 128 (a third of the time)
        short = copy.deepcopy(rec)
        short["seq_len"] = 128
        short["latency_ms"] = {k: (round(v / 3, 3) if isinstance(v, float) else v) for k, v in rec["latency_ms"].items()}
        records += [rec, short]
    acc = {("teacher", "fp32"): 88.5, ("student", "fp32"): 86.9, ("student", "int8-dynamic"): 86.5}
    for rec in records:  # accuracy carried by the 384 records only: the join must reach every bucket
        key = (rec["model"]["role"], rec["precision"])
        if key in acc and rec["seq_len"] == 384:
            rec["accuracy"] = {"metric": "squad_f1", "value": acc[key]}
    results = tmp_path / "r.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = write_report([results], tmp_path / "report").parent
    md = (out / "device-host-ci.md").read_text()
    assert "## Teacher vs student (the paper's table)" in md
    header = next(ln for ln in md.splitlines() if ln.startswith("| runtime | threads | model | role"))
    assert "p50 ms @128 | p50 ms @384" in header
    student_fp32 = next(ln for ln in md.splitlines() if ln.startswith("| litert/xnnpack | 2 | distilbert-base | student | fp32 |"))
    cells = [c.strip() for c in student_fp32.strip("|").split("|")]
    assert cells[5:9] == ["66.4", "265.0", "58.3", "175.0"]  # params M, size MB, p50 @128, p50 @384
    assert cells[10] == "squad_f1 86.9"
    assert cells[11:] == ["0.609", "0.608", "0.481 @384", cells[14], f"{86.9 / 88.5:.3f}"]
    assert "squad_f1 88.5" in md and "| bert-base | teacher | int8-dynamic |" in md
    png = out / "png" / "host-ci-quality-latency.png"
    assert png.read_bytes().startswith(PNG_MAGIC) and "![quality vs latency](png/host-ci-quality-latency.png)" in md
