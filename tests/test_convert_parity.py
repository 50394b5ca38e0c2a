"""The parity gate: a model that answers differently from its artifact fails, loudly, and conversion leaves no dir."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from convert_helpers import converted


# Relative noise added to every weight of the "broken" source (a silent weights swap or a bad re-export).
PERTURB = 0.05


def _perturbed_copy(src, dst):
    import torch
    from transformers import AutoModelForQuestionAnswering

    shutil.copytree(src, dst)
    model = AutoModelForQuestionAnswering.from_pretrained(dst)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(PERTURB * p.abs().mean() * torch.randn_like(p))
    model.save_pretrained(dst)
    return dst


@pytest.fixture(scope="module")
def qa_model(tiny_models):
    return tiny_models("distilbert", "qa", layers=2)


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_parity_command_passes_on_good_artifact(tmp_path_factory, qa_model, fmt):
    from pocketbert.cli import cli

    art = converted(tmp_path_factory, qa_model, fmt, "qa", "fp32")
    res = CliRunner().invoke(cli, ["parity", str(art), "-n", "8"])
    assert res.exit_code == 0, res.output
    assert "PASSED" in res.output and "start_logits" in res.output


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_weights_perturbed_after_export_fail_parity(tmp_path_factory, tmp_path, qa_model, fmt):
    from pocketbert.cli import cli
    from pocketbert.convert.parity import run_parity

    work = _perturbed_copy(qa_model, tmp_path / "model")
    # The artifact was made from the original weights; the source now differs.
    art = converted(tmp_path_factory, qa_model, fmt, "qa", "fp32")
    report = run_parity(art, model=work, n=16)
    assert report.status == "failed"
    failed = [c for c, ok, _ in report.checks if not ok]
    assert any("max |diff|" in c for c in failed)
    assert max(s["max_abs"] for s in report.outputs.values()) > 1e-3
    res = CliRunner().invoke(cli, ["parity", str(art), "--model", str(work), "-n", "16"])
    assert res.exit_code == 1
    assert "FAIL" in res.output and res.output.strip().splitlines()[-1].startswith("Error: parity failed")


def test_failed_parity_during_convert_leaves_no_dir(tmp_path, qa_model, monkeypatch):
    import pocketbert.convert.wrappers as wrappers
    from pocketbert.convert.api import convert_model
    from pocketbert.convert.parity import ParityError

    real = wrappers.torch_outputs

    def shifted(source, feeds):  # the reference moves: the artifact no longer matches it
        return {k: v + 0.5 for k, v in real(source, feeds).items()}

    monkeypatch.setattr(wrappers, "torch_outputs", shifted)
    out = tmp_path / "art"
    with pytest.raises(ParityError, match="parity failed"):
        convert_model("onnx", qa_model, "qa", [64], "fp32", out, n=8)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary sibling either


def test_parity_report_in_manifest_is_complete(tmp_path_factory, qa_model):
    art = converted(tmp_path_factory, qa_model, "tflite", "qa", "fp32")
    p = json.loads((art / "manifest.json").read_text())["parity"]
    assert set(p["outputs"]) == {"start_logits", "end_logits"}
    assert p["thresholds"]["min_task_agreement"] == 0.99 and p["thresholds"]["max_abs_per_unit"] == 1e-4
    assert "PyTorch" in p["note"]
    # the CPU the gate ran on travels with the verdict (int8 answers depend on its int8 kernels)
    from pocketbert.core.device_info import INT8_CPU_FLAGS, cpu_model

    assert p["host"]["cpu"] == cpu_model() and set(p["host"]["cpu_int8_flags"] or []) <= set(INT8_CPU_FLAGS)


@pytest.mark.parametrize("cpuinfo, flags", [
    ("processor : 0\nmodel name : AMD EPYC\nflags : fpu sse2 avx avx2 fma\n", ["avx2"]),
    ("flags : avx2 avx512f avx512bw avx512_vnni\nflags : avx2 avx512f avx512bw avx512_vnni\n",
     ["avx2", "avx512f", "avx512bw", "avx512_vnni"]),
    ("Features : fp asimd asimddp i8mm\nCPU implementer : 0x41\n", ["asimddp", "i8mm"]),
])
def test_the_cpus_int8_features_are_read_from_cpuinfo(tmp_path, monkeypatch, cpuinfo, flags):
    from pocketbert.core import device_info

    (tmp_path / "cpuinfo").write_text(cpuinfo)
    monkeypatch.setattr(device_info, "CPUINFO", tmp_path / "cpuinfo")
    device_info.cpu_int8_flags.cache_clear()
    try:
        assert device_info.cpu_int8_flags() == flags
    finally:
        device_info.cpu_int8_flags.cache_clear()


@pytest.mark.parametrize("flags, precision, warned", [
    (["avx2"], "int8-dynamic", True),                       # x86 without VNNI: vpmaddubsw may saturate
    (["avx2", "avx512f", "avx512_vnni"], "int8-hadamard", False),
    (["asimddp", "i8mm"], "int8-block", False),              # an ARM host runs the phone's kind of kernels
    (["avx2"], "fp32", False),
])
def test_an_int8_verdict_from_an_x86_cpu_without_vnni_says_it_may_not_transfer(flags, precision, warned):
    from rich.console import Console

    from pocketbert.convert.parity import render
    from pocketbert.core.parity_report import ParityReport

    console = Console(record=True, width=200)
    render(ParityReport(status="passed", runtime="litert", n=192, precision=precision,
                        host={"cpu": "AMD EPYC", "cpu_int8_flags": flags}), "parity", console)
    text = console.export_text()
    assert f"int8 features: {', '.join(flags)}" in text
    assert ("no VNNI" in text) is warned


def test_qa_manifest_windowing_works_at_the_artifact_length(tmp_path_factory, qa_model):
    """The apps window with the manifest's max_query_len/doc_stride; they must fit the static length."""
    from transformers import AutoTokenizer

    from pocketbert.core.qa import make_features

    art = converted(tmp_path_factory, qa_model, "tflite", "qa", "fp32")
    m = json.loads((art / "manifest.json").read_text())
    tok, seq = m["tokenizer"], m["seq_lens"][0]
    feats = make_features(AutoTokenizer.from_pretrained(str(art)),  # the artifact's own tokenizer files
                           "what is the answer " * 20, "a long passage of words " * 40,
                          max_len=seq, doc_stride=tok["doc_stride"], max_query_len=tok["max_query_len"])
    assert feats.input_ids.shape[1] == seq and feats.input_ids.shape[0] >= 2


def test_parity_inputs_read_user_data_files(tmp_path, qa_model):
    from transformers import AutoTokenizer

    from pocketbert.convert.parity_inputs import build_batch, read_texts

    tsv = tmp_path / "train.tsv"
    tsv.write_text("sentence\tlabel\na gripping and moving film\t1\nflat , dull and far too long\t0\n")
    assert read_texts(tsv, 10) == ["a gripping and moving film", "flat , dull and far too long"]
    squad = tmp_path / "squad.json"
    context = "The Eiffel Tower is in Paris. It was finished in 1889 for the World's Fair."
    squad.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": [
        {"question": "When was the tower finished?", "id": "1", "answers": []}]}]}]}))
    tok = AutoTokenizer.from_pretrained(str(qa_model))
    batch = build_batch(tok, "qa", ["input_ids", "attention_mask"], 64, data=squad, n=4, qa_window=(16, 22))
    assert batch.n_examples == 1 and batch.feeds["input_ids"].shape == (1, 64)
    assert batch.feeds["input_ids"].dtype.name == "int32"
    cls_batch = build_batch(tok, "cls", ["input_ids", "attention_mask"], 32, data=tsv, n=8)
    assert cls_batch.feeds["attention_mask"].sum(1).tolist() == [
        len(tok(t)["input_ids"]) for t in read_texts(tsv, 8)]


def _fake_samples(shares: list[float], calls: list[int], n: int = 192):
    """measure_part for `gate`: part k is n answers of which the share shares[k] agree (no share: the data has
    no examples left for that part)."""
    from pocketbert.convert.parity import Sample

    def measure_part(part):
        calls.append(part)
        if part >= len(shares):
            return Sample(0, [], {"start_logits": []})
        agree = round(shares[part] * n)
        stats = {"max_abs": 0.1, "mean_abs": 0.01, "cosine": 0.999, "ref_max_abs": 9.0, "_count": n, "_rows": n}
        return Sample(n, [True] * agree + [False] * (n - agree), {"start_logits": [stats]})

    return measure_part


def _gate(measure_part):
    from pocketbert.convert.parity import gate

    return gate(measure_part, "litert", "qa", "int8-dynamic", [128, 256, 384])


def test_a_verdict_near_the_bar_is_decided_on_more_questions():
    """192 answers at 96.4% (within two standard errors of the 97% bar) are not enough to refuse a file: two more
    samples of other questions are run, and all 576 answers (97.5%) pass it; the report says why it grew."""
    from pocketbert.convert.parity import RECHECK_FACTOR

    calls: list[int] = []
    report = _gate(_fake_samples([0.964, 0.979, 0.984], calls))
    # 97.6% of 576 is still within two standard errors (1.4 points): the gate asks for parts 3-8, the data has none
    assert RECHECK_FACTOR == 3 and calls == list(range(9))
    assert report.status == "passed" and report.n == 576 and abs(report.task_agreement - 0.9757) < 1e-3
    assert "re-checked: 96.4% on the first 192 examples was" in report.note and "576 examples decide" in report.note
    assert report.outputs["start_logits"]["max_abs"] == 0.1

    calls.clear()  # and the pooled sample refuses a file the first sample alone would have passed
    report = _gate(_fake_samples([0.979, 0.938, 0.943], calls))
    assert report.status == "failed" and report.n == 576 and calls == [0, 1, 2]  # 95.3%: decided at 576


def test_a_pooled_verdict_still_near_the_bar_grows_once_more():
    """96.4% of 576 is as undecided as 96.4% of 192 was: six more parts make 1728 answers, which decide (the
    AVX2 student's ONNX int8-block file of 2026-12-07: 96.4% of 576, 97.9% of 1728), and no third round follows."""
    from pocketbert.convert.parity import RECHECK_ROUNDS

    calls: list[int] = []
    report = _gate(_fake_samples([0.964, 0.958, 0.969] + [0.99] * 6 + [0.5] * 18, calls))
    assert RECHECK_ROUNDS == 2 and calls == list(range(9))
    assert report.status == "passed" and report.n == 1728 and abs(report.task_agreement - 0.9809) < 1e-3
    assert ("re-checked: 96.4% on the first 192 and 96.4% on 576 examples were within 2 standard errors of the "
            "bar, so 1728 examples decide") in report.note


@pytest.mark.parametrize("share", [0.90, 1.0])
def test_a_verdict_far_from_the_bar_or_perfect_is_measured_once(share):
    calls: list[int] = []
    report = _gate(_fake_samples([share, 0.5, 0.5], calls))
    assert calls == [0] and report.n == 192
    assert report.status == ("passed" if share == 1.0 else "failed")


def test_a_near_verdict_stands_when_the_data_has_no_more_examples():
    calls: list[int] = []
    report = _gate(_fake_samples([0.964], calls))
    assert calls == [0, 1, 2] and report.n == 192 and report.status == "failed" and "re-checked" not in report.note


def test_the_recheck_samples_are_other_questions(tmp_path, qa_model):
    """The re-check's parts draw questions the first sample did not (spread over the file like it), the second
    round's six parts fill the gaps between the first three, and a file too small for disjoint parts gives nothing
    more rather than the same questions again."""
    from pocketbert.convert.parity_inputs import grid_offset, read_squad_pairs, read_texts

    data = tmp_path / "squad.json"
    data.write_text(json.dumps({"data": [{"paragraphs": [
        {"context": f"context {i}", "qas": [{"question": f"question {i}?", "id": str(i), "answers": []}]}
        for i in range(100)]}]}))
    parts = [read_squad_pairs(data, 8, part) for part in range(9)]  # step 12: offsets 0, 4, 8, 1, 5, 9, 2, 6, 10
    assert parts[0] == read_squad_pairs(data, 8)  # the first sample is the plain one
    assert [grid_offset(k, 12, 3) for k in range(9)] == [0, 4, 8, 1, 5, 9, 2, 6, 10]
    assert all(len(p) == 8 for p in parts) and len({q for p in parts for q, _ in p}) == 72
    assert read_squad_pairs(data, 20, 3) == []  # step 5: offsets 0, 1, 3, then 0 again: no disjoint fourth part
    assert read_squad_pairs(data, 60, 1) == []  # step 1: no disjoint second part
    lines = tmp_path / "s.txt"
    lines.write_text("".join(f"sentence number {i} here\n" for i in range(10)))
    assert read_texts(lines, 4, 1) == [f"sentence number {i} here" for i in range(4, 8)]
    assert read_texts(lines, 4, 2) == ["sentence number 8 here", "sentence number 9 here"]


def test_the_gates_of_two_artifacts_of_one_model_run_the_model_once(tmp_path_factory, qa_model, monkeypatch):
    """qa-models gates several artifacts of one model on the same windows: the PyTorch reference is computed for
    the first and reused for the second (it is most of a gate's time), with the same verdicts."""
    import pocketbert.convert.wrappers as wrappers
    from pocketbert.convert.parity import run_parity
    from pocketbert.core import reference_cache

    real, calls = wrappers._torch_outputs, []
    monkeypatch.setattr(wrappers, "_torch_outputs", lambda source, feeds: (calls.append(1), real(source, feeds))[1])
    tflite = converted(tmp_path_factory, qa_model, "tflite", "qa", "fp32")
    onnx = converted(tmp_path_factory, qa_model, "onnx", "qa", "fp32")
    reference_cache.clear()
    first = run_parity(tflite, n=8)
    assert len(calls) == 1  # one signature, one batch of windows
    second = run_parity(onnx, n=8)
    assert len(calls) == 1 and first.status == second.status == "passed" and first.n == second.n == 8
