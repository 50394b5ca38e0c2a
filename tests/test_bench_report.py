"""`pocketbert report` from a fixed results file: pages, tables, PNG charts (saved and embedded), ratios."""
from __future__ import annotations

import base64
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
    with pytest.raises(PocketbertError, match="not a pocketbert report"):
        write_report([FIXTURE], foreign)
    again = tmp_path / "again"
    shutil.copytree(report, again)
    (again / "png" / "stale.png").write_bytes(b"x")
    write_report([FIXTURE], again)
    assert not (again / "png" / "stale.png").exists()
