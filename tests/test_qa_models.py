"""`pocketbert qa-models`: the whole orchestration at minimal size, resume, and one-line errors for bad data."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pocketbert.cli import cli
from pocketbert.bench.report import slug
from pocketbert.core.manifest import load_manifest
from pocketbert.core.results import read_records
from pocketbert import qa_models

ARTICLES = [
    [("Paris is the capital of France. It lies on the Seine.", [("What is the capital of France?", "Paris"),
                                                                 ("Which river runs through Paris?", "Seine")])],
    [("Marie Curie won the Nobel Prize in 1903 and again in 1911.", [("When did Curie first win?", "1903"),
                                                                      ("Who won the Nobel Prize?", "Marie Curie")])],
    [("Water boils at 100 degrees Celsius at sea level.", [("At what temperature does water boil?", "100 degrees"),
                                                           ("What boils at 100 degrees?", "Water")])],
]


def write_articles(path: Path, articles=ARTICLES) -> Path:
    data = []
    for a, paras in enumerate(articles):
        data.append({"title": f"a{a}", "paragraphs": [
            {"context": ctx, "qas": [{"id": f"a{a}-p{p}-q{q}", "question": qu,
                                      "answers": [{"text": ans, "answer_start": ctx.index(ans)}]}
                                     for q, (qu, ans) in enumerate(qas)]}
            for p, (ctx, qas) in enumerate(paras)]})
    path.write_text(json.dumps({"version": "1.1", "data": data}))
    return path


def args(data: Path, out: Path, teacher: Path, *extra: str) -> list[str]:
    return ["qa-models", "--data", str(data), "--out", str(out), "--teacher", str(teacher),
            "--train-articles", "2", "--eval-articles", "1", "--seq-len", "32,64", "--max-len", "64",
            "--doc-stride", "16", "--max-steps", "2", "--parity-n", "2", *extra]


@pytest.mark.slow
def test_qa_models_end_to_end_and_resume(tiny_models, tmp_path, monkeypatch):
    teacher = tiny_models("bert", "mlm", layers=6)  # 6 layers: the default student copies 0,2,4
    # One artifact per format keeps this test's conversions (seconds each) affordable; the converters themselves
    # are proven per precision in tests/test_convert_*.py.
    monkeypatch.setattr(qa_models, "ARTIFACTS", (("tflite-int8", "tflite", "int8-dynamic"),
                                                 ("coreml-fp16", "coreml", "fp16"), ("onnx-int8", "onnx", "int8-dynamic")))
    data = write_articles(tmp_path / "squad.json")
    out = tmp_path / "qa"
    res = CliRunner().invoke(cli, args(data, out, teacher))
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["split"] == {"train_questions": 4, "eval_questions": 2, "seconds": summary["split"]["seconds"]}
    for role in ("teacher", "student"):
        assert 0 <= summary[role]["eval_f1"] <= 100 and summary[role]["train_steps"] == 2
    assert "student / teacher F1" in res.output or summary["f1_retention"] is None
    # The student is a 3-layer copy of the FINE-TUNED teacher (span head included, every other layer: DistilBERT's
    # map, not one ranked by the untrained copy's agreement), task-distilled from that teacher.
    init = json.loads((out / "models" / "student-init" / "config.json").read_text())
    assert init["n_layers"] == 3 and init["architectures"] == ["DistilBertForQuestionAnswering"]
    chosen = json.loads((out / "models" / "student-init" / "student_init.json").read_text())
    assert chosen["teacher"] == str(out / "models" / "teacher") and chosen["qa_head_copied"]
    assert chosen["student_layers_from_teacher"] == [0, 2, 4] and "layer_choice" not in chosen
    assert summary["student"]["init_kind"].startswith(f"layers {chosen['student_layers_from_teacher']} of the fine-tuned")
    student_cfg = json.loads((out / "models" / "student" / "config.json").read_text())
    assert student_cfg["architectures"] == ["DistilBertForQuestionAnswering"]
    results = json.loads((out / "models" / "student" / "eval_results.json").read_text())
    assert results["teacher"] == str(out / "models" / "teacher") and results["alpha_kd"] > 0
    # The soft targets' recipe is the student's: the summary names its temperature and gives the teacher none.
    assert summary["student"]["temperature"] == qa_models.CPU_PROFILE.temperature
    assert summary["student"]["alpha_kd"] == qa_models.CPU_PROFILE.alpha_kd and "temperature" not in summary["teacher"]
    # Every artifact exists, parity-gated on the held-out article's SQuAD windows.
    for role in ("teacher", "student"):
        for suffix, fmt, precision in qa_models.ARTIFACTS:
            m = load_manifest(out / "artifacts" / f"{role}-{suffix}")
            assert (m["format"], m["precision"], m["seq_lens"]) == (fmt, precision, [32, 64])
            assert m["parity"]["status"] in ("passed", "spec-only")
            assert summary["artifacts"][f"{role}-{suffix}"]["parity"] == m["parity"]["status"]
    # Each runnable artifact was scored the way the apps run it (evaluate_artifact), with an accuracy record.
    acc = summary["artifact_accuracy"]
    assert acc["status"] == "done"
    for name in ("teacher-tflite-int8", "student-onnx-int8"):
        assert 0 <= acc["artifacts"][name]["f1"] <= 100 and 0 <= acc["artifacts"][name]["agreement"] <= 1
        (rec,) = [json.loads(ln) for ln in (out / "accuracy" / f"{name}.jsonl").read_text().splitlines()]
        assert rec["accuracy"]["metric"] == "f1" and rec["precision"] == "int8-dynamic"
    assert acc["artifacts"]["student-coreml-fp16"]["status"].startswith("skipped")
    # Resume: a finished run does nothing again; a lost step (its marker gone) is the only one redone.
    (out / "steps" / "convert-student-onnx-int8.json").unlink()
    calls = []
    real = qa_models.make_convert_step

    def spy(role, suffix, fmt, precision):
        step = real(role, suffix, fmt, precision)
        return lambda plan: (calls.append(f"{role}-{suffix}"), step(plan))[1]

    monkeypatch.setattr(qa_models, "make_convert_step", spy)
    monkeypatch.setattr(qa_models, "step_teacher", lambda plan: pytest.fail("teacher re-trained"))
    res = CliRunner().invoke(cli, args(data, out, teacher))
    assert res.exit_code == 0, res.output
    assert calls == ["student-onnx-int8"]
    # ... besides the artifact evaluation, re-entered every run: it scores only what has no scores yet.
    assert res.output.count("done earlier, skipped") == len(qa_models.build_steps(_plan(out, data, teacher))) - 2
    # --bench: the LiteRT artifacts timed here in interleaved rounds, the report joins their accuracy records.
    monkeypatch.setattr(qa_models, "BENCH_ARTIFACTS", ("tflite-int8",))
    monkeypatch.setattr(qa_models, "HEADLINE_TEACHER", "teacher-tflite-int8")
    monkeypatch.setattr(qa_models, "HEADLINE_STUDENTS", ("student-tflite-int8",))
    headline = qa_models.run_bench(_plan(out, data, teacher), runs=2, warmup=0, threads=1)
    assert set(headline["window_share"]) <= {"seq_32", "seq_64"} and sum(headline["window_share"].values()) == pytest.approx(1)
    assert headline["latency_ratio"] > 0
    records = read_records([out / "bench" / "results.jsonl"])
    assert {(r["model"]["name"], r["model"]["role"], r["seq_len"]) for r in records} == {
        (f"{role}-tflite-int8", role, s) for role in ("teacher", "student") for s in (32, 64)}
    assert all(r["extra"]["interleave"]["rounds"] == 2 for r in records)
    md = (out / "report" / f"device-{slug(records[0]['device']['name'])}.md").read_text()
    assert "the paper's table" in md and "| student-tflite-int8 | student | int8-dynamic |" in md
    import re
    assert re.search(r"\| student-tflite-int8 \| student \| int8-dynamic \| \d+\.\d \|", md)  # params (M) filled
    assert "f1 " in md.split("the paper's table")[1].split("## ")[0]  # F1 joined from the accuracy records
    # Other settings on the same --out are refused instead of mixing two recipes.
    res = CliRunner().invoke(cli, args(data, out, teacher, "--limit-train", "1"))
    assert res.exit_code == 1 and "built with other settings (profile)" in res.output
    assert res.output.count("\n") == 1


def _plan(out, data, teacher):
    profile = qa_models.dataclasses.replace(qa_models.CPU_PROFILE, max_steps=2, max_len=64, doc_stride=16)
    return qa_models.Plan(out=out, data=data, teacher=str(teacher), student=None, profile=profile, device="cpu",
                          seq_lens=(32, 64), parity_n=2, train_articles=2, eval_articles=1)


def test_missing_or_short_data_is_one_line_before_any_work(tiny_models, tmp_path):
    teacher = tiny_models("bert", "mlm", layers=6)
    out = tmp_path / "qa"
    res = CliRunner().invoke(cli, args(tmp_path / "nope.json", out, teacher))
    assert res.exit_code == 1 and "does not exist" in res.output and res.output.count("\n") == 1
    short = write_articles(tmp_path / "short.json", ARTICLES[:2])
    res = CliRunner().invoke(cli, args(short, out, teacher))
    assert res.exit_code == 1 and "has 2 articles; qa-models needs 3" in res.output
    res = CliRunner().invoke(cli, args(write_articles(tmp_path / "ok.json"), out, teacher, "--student", str(tmp_path)))
    assert res.exit_code == 1 and "is not a model dir" in res.output
    assert not out.exists()  # nothing was written


def test_foreign_out_dir_is_refused(tiny_models, tmp_path):
    out = tmp_path / "qa"
    out.mkdir()
    (out / "precious.txt").write_text("x")
    res = CliRunner().invoke(cli, args(write_articles(tmp_path / "d.json"), out, tiny_models("bert", "mlm", layers=6),
                                       "--force"))
    assert res.exit_code == 1 and "not a qa-models run" in res.output
    assert (out / "precious.txt").exists()


def test_profiles_fit_the_issue():
    cpu, gpu = qa_models.PROFILES["cpu"], qa_models.PROFILES["cuda"]
    assert (gpu.max_len, gpu.doc_stride, gpu.epochs) == (384, 128, 2.0)
    assert cpu.max_len <= 256 and cpu.limit_train is None  # all 20 training articles on CPU too
    # LiteRT's dynamic int8 as the two variants that pass their gates on the real pair; plain int8-dynamic was
    # refused for both models on every host, so the default run no longer spends its conversions on it.
    assert [a[0] for a in qa_models.ARTIFACTS] == ["tflite-fp32", "tflite-int8-hadamard", "tflite-int8-mixed",
                                                   "coreml-fp16", "coreml-int8", "onnx-int8-block"]
    assert "int8-dynamic" not in {precision for _, _, precision in qa_models.ARTIFACTS}
    assert all(name.replace("student-", "", 1) in qa_models.BENCH_ARTIFACTS for name in qa_models.HEADLINE_STUDENTS)


def test_batches_are_cut_to_their_longest_window():
    import torch

    from pocketbert.distill.finetune import trim_padding

    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]])  # (bs, seq): longest real window is 5
    batch = {"input_ids": torch.arange(12).view(2, 6), "attention_mask": mask, "token_type_ids": torch.zeros(2, 6),
             "start_positions": torch.tensor([1, 4]), "end_positions": torch.tensor([2, 4])}
    out = trim_padding(batch)
    assert out["input_ids"].shape == (2, 5) and out["attention_mask"].tolist() == mask[:, :5].tolist()
    assert out["start_positions"].tolist() == [1, 4]  # labels untouched


def record_steps(monkeypatch, student_f1: float = 50.0) -> list[str]:
    """Replace every step of a run by one that records its name (in the returned list) and returns made-up scores:
    the teacher F1 50, the student `student_f1`; each conversion a passed 1-byte artifact made with
    today's quantization recipe."""
    calls: list[str] = []

    def fake(name, f1=50.0):
        return lambda plan: (calls.append(name), {"eval_f1": f1, "eval_exact_match": 40.0})[1]

    monkeypatch.setattr(qa_models, "step_teacher", fake("teacher"))
    monkeypatch.setattr(qa_models, "step_student_init", lambda plan: (calls.append("student-init"), {"layers": [0, 2, 4]})[1])
    monkeypatch.setattr(qa_models, "step_student", fake("student", student_f1))
    monkeypatch.setattr(qa_models, "step_evaluate_artifacts", fake("evaluate"))
    monkeypatch.setattr(qa_models, "make_convert_step", lambda role, suffix, fmt, precision: lambda plan: (
        calls.append(f"{role}-{suffix}"), {"file_size_bytes": 1, "parity": "passed",
                                           "quantization": qa_models.expected_quantization(fmt, precision)})[1])
    return calls


def test_the_summary_gives_the_interval_of_the_students_share_from_the_saved_answers(tiny_models, tmp_path,
                                                                                      monkeypatch):
    """Each fine-tuning saves its eval answers (finetune.PREDICTIONS_FILE); the summary turns the two models' answers
    into a paired-bootstrap interval of the student's share, which says whether the 90% bar holds beyond noise."""
    from pocketbert.core.squad import read_squad, squad_metrics
    from pocketbert.distill.finetune import PREDICTIONS_FILE

    teacher = tiny_models("bert", "mlm", layers=6)
    data = write_articles(tmp_path / "squad.json")
    out = tmp_path / "qa"
    record_steps(monkeypatch)

    def answering(role, right):  # writes the model dir's answers: right on the first `right` questions
        def step(plan):
            exs = read_squad(plan.eval_file)
            preds = {ex.id: ex.answers[0] if i < right else "no" for i, ex in enumerate(exs)}
            plan.model_dir(role).mkdir(parents=True, exist_ok=True)
            (plan.model_dir(role) / PREDICTIONS_FILE).write_text(json.dumps(preds))
            return {f"eval_{k}": v for k, v in squad_metrics(exs, preds).items()}
        return step

    monkeypatch.setattr(qa_models, "step_teacher", answering("teacher", 2))
    monkeypatch.setattr(qa_models, "step_student", answering("student", 1))
    monkeypatch.setattr(qa_models, "SHARE_MIN_QUESTIONS", 1)  # the file has a handful of questions
    res = CliRunner().invoke(cli, args(data, out, teacher, "--models-only"))
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    lo, hi = summary["f1_retention_interval"]
    assert summary["f1_retention"] == pytest.approx(0.5) and lo < 0.5 < hi  # 2 questions: a wide interval
    assert "95% interval over resampled questions" in res.output
    monkeypatch.setattr(qa_models, "SHARE_MIN_QUESTIONS", 10_000)  # too few questions: said, not a wild interval
    res = CliRunner().invoke(cli, args(data, out, teacher, "--models-only"))
    assert res.exit_code == 0 and json.loads((out / "summary.json").read_text())["f1_retention_interval"] is None
    assert "no interval: fewer than 10000 questions" in res.output
    (out / "models" / "teacher" / PREDICTIONS_FILE).unlink()  # a model dir from before answers were saved
    res = CliRunner().invoke(cli, args(data, out, teacher, "--models-only"))
    assert res.exit_code == 0 and json.loads((out / "summary.json").read_text())["f1_retention_interval"] is None


def test_a_new_student_redoes_only_the_students_steps(tiny_models, tmp_path, monkeypatch):
    """The general-distilled student comes after the teacher: swapping it must not re-train the teacher."""
    teacher = tiny_models("bert", "mlm", layers=6)
    data = write_articles(tmp_path / "squad.json")
    out = tmp_path / "qa"
    calls = record_steps(monkeypatch)
    assert CliRunner().invoke(cli, args(data, out, teacher)).exit_code == 0
    assert calls[0] == "teacher" and len(calls) == 1 + 2 + 2 * len(qa_models.ARTIFACTS) + 1
    calls.clear()
    # Another layer map for the copied init is a student setting too: the teacher is kept.
    res = CliRunner().invoke(cli, args(data, out, teacher, "--student-layers", "0,2,4"))
    assert res.exit_code == 0, res.output
    assert "redoing the student's steps, keeping the teacher's" in res.output
    assert calls == ["student-init", "student", *[f"student-{a[0]}" for a in qa_models.ARTIFACTS], "evaluate"]
    calls.clear()
    # So is the student's recipe (hidden-state term, soft-target weight, its epochs, masked copies).
    for extra in (["--alpha-hidden", "2"], ["--alpha-hidden", "2", "--alpha-kd", "0.25"],
                  ["--alpha-hidden", "2", "--alpha-kd", "0.25", "--student-epochs", "3"],
                  ["--alpha-hidden", "2", "--alpha-kd", "0.25", "--student-epochs", "3", "--temperature", "3"],
                  ["--alpha-hidden", "2", "--alpha-kd", "0.25", "--student-epochs", "3", "--temperature", "3",
                   "--augment-copies", "1"]):
        calls.clear()
        res = CliRunner().invoke(cli, args(data, out, teacher, "--student-layers", "0,2,4", *extra))
        assert res.exit_code == 0, res.output
        assert "redoing the student's steps, keeping the teacher's" in res.output
        assert calls == ["student-init", "student", *[f"student-{a[0]}" for a in qa_models.ARTIFACTS], "evaluate"]
    calls.clear()
    res = CliRunner().invoke(cli, args(data, out, teacher, "--student", str(tiny_models("distilbert", "mlm", layers=3))))
    assert res.exit_code == 0, res.output
    assert "redoing the student's steps, keeping the teacher's" in res.output
    assert calls == ["student", *[f"student-{a[0]}" for a in qa_models.ARTIFACTS], "evaluate"]
    # ... but the teacher's schedule is not.
    res = CliRunner().invoke(cli, args(data, out, teacher, "--student", str(tiny_models("distilbert", "mlm", layers=3)),
                                       "--doc-stride", "8"))
    assert res.exit_code == 1 and "other settings (profile)" in res.output, res.output


def test_a_run_whose_auto_map_is_todays_default_keeps_its_student(tiny_models, tmp_path, monkeypatch):
    """`--student-layers` was `auto` before it became every other layer: a run whose auto copy took that very map
    (as the CPU runs did) is not re-trained on its next `make bench-qa`; one that took another map is."""
    teacher = tiny_models("bert", "mlm", layers=6)
    data = write_articles(tmp_path / "squad.json")
    out = tmp_path / "qa"
    calls = record_steps(monkeypatch)  # its student-init step reports layers [0, 2, 4]
    assert CliRunner().invoke(cli, args(data, out, teacher, "--student-layers", "auto")).exit_code == 0
    (out / "models" / "teacher").mkdir(parents=True, exist_ok=True)
    (out / "models" / "teacher" / "config.json").write_text(json.dumps({"num_hidden_layers": 6}))
    calls.clear()
    res = CliRunner().invoke(cli, args(data, out, teacher))
    assert res.exit_code == 0, res.output
    assert "redoing" not in res.output and not [c for c in calls if c.startswith("student")]
    marker = out / "steps" / "student-init.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "layers": [0, 4, 5]}))
    calls.clear()
    res = CliRunner().invoke(cli, args(data, out, teacher))
    assert res.exit_code == 0 and "redoing the student's steps, keeping the teacher's" in res.output
    assert calls == ["student-init", "student", *[f"student-{a[0]}" for a in qa_models.ARTIFACTS], "evaluate"]


def test_models_only_stops_after_the_student_and_a_later_run_converts(tiny_models, tmp_path, monkeypatch):
    """Recipe comparisons on a dev split need the two models' scores, not 14 conversions; the same command without
    --models-only then converts the models it trained (nothing is trained twice)."""
    teacher = tiny_models("bert", "mlm", layers=6)
    data = write_articles(tmp_path / "squad.json")
    out = tmp_path / "qa"
    calls = record_steps(monkeypatch, student_f1=46.0)
    res = CliRunner().invoke(cli, args(data, out, teacher, "--models-only"))
    assert res.exit_code == 0, res.output
    assert calls == ["teacher", "student-init", "student"]
    assert "student / teacher F1: 92.00%" in res.output and "not made (--models-only)" in res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["f1_retention"] == pytest.approx(0.92) and not any(summary["artifacts"].values())
    calls.clear()
    res = CliRunner().invoke(cli, args(data, out, teacher))
    assert res.exit_code == 0, res.output
    assert calls == [f"{role}-{a[0]}" for role in ("teacher", "student") for a in qa_models.ARTIFACTS] + ["evaluate"]
    res = CliRunner().invoke(cli, args(data, out, teacher, "--models-only", "--bench"))
    assert res.exit_code == 2 and "--models-only does not make" in res.output


def test_a_rerun_removes_what_a_killed_run_left_half_written(tiny_models, tmp_path, monkeypatch):
    """A run killed mid-training (SIGKILL: no cleanup) leaves its half-written model dir next to the real one; the
    next run in OUT removes it, and nothing else."""
    teacher = tiny_models("bert", "mlm", layers=6)
    data = write_articles(tmp_path / "squad.json")
    out = tmp_path / "qa"
    record_steps(monkeypatch)
    assert CliRunner().invoke(cli, args(data, out, teacher, "--models-only")).exit_code == 0
    half = out / "models" / ".teacher.tmp-k1ll3d"
    half.mkdir(parents=True)
    (half / "model.safetensors").write_bytes(b"\0" * 2**20)
    (out / "artifacts").mkdir()
    (out / "artifacts" / ".student-tflite-fp32.old-123").mkdir()
    kept = out / "models" / "teacher"
    kept.mkdir()
    (kept / "config.json").write_text("{}")
    res = CliRunner().invoke(cli, args(data, out, teacher, "--models-only"))
    assert res.exit_code == 0, res.output
    assert "removed 2 temporary dir(s)" in res.output and "(1.0 MB)" in res.output
    assert not half.exists() and not (out / "artifacts" / ".student-tflite-fp32.old-123").exists()
    assert (kept / "config.json").is_file() and (out / "data").is_dir()


def test_the_student_recipe_reaches_only_the_students_training(tmp_path):
    profile = dataclasses.replace(qa_models.CPU_PROFILE, alpha_hidden=2.5, student_epochs=3.0, alpha_kd=1.0,
                                  temperature=3.0, augment_copies=2, augment_mask=0.2)
    plan = qa_models.Plan(out=tmp_path, data=tmp_path / "d.json", teacher="minilm", student=None, profile=profile,
                          device="cpu")
    teacher, student = qa_models._train_config(plan, "teacher"), qa_models._train_config(plan, "student")
    assert (teacher.alpha_hidden, teacher.epochs, teacher.lr) == (0.0, profile.epochs, profile.lr_teacher)
    assert teacher.augment_copies == 0  # the teacher trains on the labelled windows alone
    assert (student.alpha_hidden, student.epochs, student.lr, student.alpha_kd, student.temperature,
            student.augment_copies, student.augment_mask) == (2.5, 3.0, profile.lr_student, 1.0, 3.0, 2, 0.2)
    assert plan.settings()["student_recipe"] == {"alpha_kd": 1.0, "temperature": 3.0, "alpha_hidden": 2.5,
                                                 "student_epochs": 3.0, "augment_copies": 2, "augment_mask": 0.2}
    assert not set(qa_models.STUDENT_RECIPE_FIELDS) & set(plan.settings()["profile"])


@pytest.mark.parametrize("field, other", [("alpha_kd", 0.25), ("temperature", 3.0)])
def test_a_run_from_before_a_field_was_a_student_setting_is_still_resumed(tmp_path, field, other):
    """run.json of earlier versions keeps alpha_kd and temperature under "profile": the same recipe is no change,
    another value is a student-only change (the teacher is reused), not a refused one."""
    plan = qa_models.Plan(out=tmp_path, data=tmp_path / "d.json", teacher="minilm", student=None,
                          profile=qa_models.CPU_PROFILE, device="cpu")
    old = plan.settings()
    old["profile"][field] = old["student_recipe"].pop(field)
    (tmp_path / "run.json").write_text(json.dumps({"settings": old}))
    assert qa_models.changed_settings(plan) == []
    assert getattr(qa_models.CPU_PROFILE, field) != other
    plan.profile = dataclasses.replace(qa_models.CPU_PROFILE, **{field: other})
    assert qa_models.changed_settings(plan) == ["student_recipe"]


def test_run_json_pins_the_precision_that_runs_here(tmp_path, monkeypatch):
    """The CPU profile's "auto" precision is written to run.json as what this machine runs (bf16 with bf16
    instructions, else fp32) and reaches both fine-tunings; resuming where it would resolve otherwise is a changed
    setting (refused without --force), not a silent switch of the recipe halfway."""
    from pocketbert.distill import training

    plan = qa_models.Plan(out=tmp_path, data=tmp_path / "d.json", teacher="minilm", student=None,
                          profile=qa_models.CPU_PROFILE, device="cpu")
    assert qa_models.CPU_PROFILE.precision == "auto" and qa_models.CPU_PROFILE.attention_dropout == 0.0
    for native, ran in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(training, "native_bf16", lambda device, native=native: native)
        assert plan.settings()["profile"]["precision"] == ran
        for role in qa_models.ROLES:
            cfg = qa_models._train_config(plan, role)
            assert (cfg.precision, cfg.attention_dropout) == (ran, 0.0)
    monkeypatch.setattr(training, "native_bf16", lambda device: True)
    (tmp_path / "run.json").write_text(json.dumps({"settings": plan.settings()}))
    assert qa_models.changed_settings(plan) == []
    monkeypatch.setattr(training, "native_bf16", lambda device: False)
    assert qa_models.changed_settings(plan) == ["profile"]
    plan.profile = dataclasses.replace(qa_models.CPU_PROFILE, precision="bf16")  # --train-precision bf16
    assert qa_models.changed_settings(plan) == []


def test_a_run_from_before_masked_copies_reads_as_none(tmp_path):
    """run.json of earlier versions has no augment_copies: it made no copies, so the same recipe without them is no
    change (its student is kept), and copies now are a student-only change."""
    plan = qa_models.Plan(out=tmp_path, data=tmp_path / "d.json", teacher="minilm", student=None,
                          profile=dataclasses.replace(qa_models.CPU_PROFILE, augment_copies=0), device="cpu")
    old = plan.settings()
    assert "augment_mask" not in old["student_recipe"]  # no copies: the mask rate is not a setting of the run
    del old["student_recipe"]["augment_copies"]
    (tmp_path / "run.json").write_text(json.dumps({"settings": old}))
    assert qa_models.changed_settings(plan) == []
    plan.profile = dataclasses.replace(plan.profile, augment_copies=2)
    assert qa_models.changed_settings(plan) == ["student_recipe"]


def test_a_second_run_on_a_busy_out_is_refused(tiny_models, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "qa"
    out.mkdir()
    (out / "run.json").write_text("{}")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / qa_models.LOCK_FILE).write_text(str(sleeper.pid))
        res = CliRunner().invoke(cli, args(write_articles(tmp_path / "d.json"), out, tiny_models("bert", "mlm", layers=6),
                                           "--force"))
        assert res.exit_code == 1 and f"another qa-models run (pid {sleeper.pid}) is working" in res.output
        assert (out / "run.json").exists()  # --force deleted nothing
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_artifact_refused_by_parity_is_recorded_and_the_run_goes_on(tiny_models, tmp_path, monkeypatch):
    """One failing gate (e.g. a teacher int8 below its agreement bar) must not lose the other artifacts, and its
    agreement and error are in the summary; evaluation skips it instead of scoring files that do not exist."""
    from pocketbert.convert import api
    from pocketbert.convert.parity import ParityError
    from pocketbert.core import artifact_eval
    from pocketbert.core.parity_report import ParityReport

    data = write_articles(tmp_path / "squad.json")
    out = tmp_path / "qa"
    made = []

    def fake_convert(fmt, model, task, seq_lens, precision, dest, **kw):
        if (Path(model).name, fmt) == ("teacher", "onnx"):
            report = ParityReport(status="failed", runtime="onnxruntime", n=576, task_agreement=0.854)
            raise ParityError("parity failed: task agreement 85.4% < 97%", report)
        made.append((Path(model).name, fmt, precision))
        dest.mkdir(parents=True)
        (dest / "manifest.json").write_text("{}")

    monkeypatch.setattr(api, "convert_model", fake_convert)
    monkeypatch.setattr(qa_models, "ARTIFACTS", (("tflite-int8", "tflite", "int8-dynamic"), ("onnx-int8", "onnx", "int8-dynamic")))
    monkeypatch.setattr("pocketbert.core.manifest.load_manifest", lambda d: {
        "file_size_bytes": 1, "parity": {"status": "passed", "task_agreement": 1.0, "outputs": {}}})
    for name in ("step_teacher", "step_student"):
        monkeypatch.setattr(qa_models, name, lambda plan: {"eval_f1": 50.0, "eval_exact_match": 40.0})
    monkeypatch.setattr(qa_models, "step_student_init", lambda plan: {"layers": [0, 1, 2]})
    scored = []
    monkeypatch.setattr(artifact_eval, "evaluate_artifact", lambda d, *a, results=None, **kw: (
        scored.append(Path(d).name), results.write_text(""), {"f1": 1.0, "exact_match": 1.0, "agreement": 1.0})[-1])
    # A passing artifact of an earlier student sits where the refused one would go: it must not be scored as new.
    stale = out / "artifacts" / "teacher-onnx-int8"
    stale.mkdir(parents=True)
    (stale / "manifest.json").write_text("{}")
    (out / "run.json").write_text(json.dumps({"settings": qa_models.Plan(
        out=out, data=data, teacher=str(tiny_models("bert", "mlm", layers=6)), student=None,
        profile=qa_models.dataclasses.replace(qa_models.CPU_PROFILE, max_steps=2, max_len=64, doc_stride=16),
        device="cpu", seq_lens=(32, 64), parity_n=2, train_articles=2, eval_articles=1).settings()}))
    res = CliRunner().invoke(cli, args(data, out, tiny_models("bert", "mlm", layers=6)))
    assert res.exit_code == 0, res.output
    assert made == [("teacher", "tflite", "int8-dynamic"), ("student", "tflite", "int8-dynamic"),
                    ("student", "onnx", "int8-dynamic")]
    refused = json.loads((out / "summary.json").read_text())["artifacts"]["teacher-onnx-int8"]
    assert refused["parity"] == "failed" and refused["task_agreement"] == 0.854 and "85.4%" in refused["error"]
    assert "teacher-onnx-int8" in res.output and "parity failed" in res.output
    assert "agreement 85.4% of 576" in res.output  # the gate's sample, re-checked ones larger than 3 x 64
    evaluated = json.loads((out / "summary.json").read_text())["artifact_accuracy"]["artifacts"]
    assert evaluated["teacher-onnx-int8"]["status"].startswith("skipped: not written") and not stale.exists()
    assert scored == ["teacher-tflite-int8", "student-tflite-int8", "student-onnx-int8"]


def test_a_conversion_whose_quantization_recipe_changed_is_redone(tiny_models, tmp_path, monkeypatch):
    """A re-run skips finished conversions, except those whose LiteRT recipe the code has changed since (e.g.
    int8-hadamard's block size): those are made again, with a notice, so OUT never mixes old and new recipes.
    Markers written before the recipe was recorded in them are read through their artifact's manifest."""
    from pocketbert.convert import api, quantize

    data = write_articles(tmp_path / "squad.json")
    out = tmp_path / "qa"
    teacher = tiny_models("bert", "mlm", layers=6)
    made = []

    def fake_convert(fmt, model, task, seq_lens, precision, dest, **kw):
        made.append((Path(model).name, precision))
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "manifest.json").write_text(json.dumps({  # what convert_model records of its quantization
            "file_size_bytes": 1, "parity": {"status": "passed", "task_agreement": 1.0, "outputs": {}},
            "quantization": quantize.tflite_recipe(precision)[1] if precision != "fp32" else None}))

    monkeypatch.setattr(api, "convert_model", fake_convert)
    monkeypatch.setattr("pocketbert.core.manifest.load_manifest",
                        lambda d: json.loads((Path(d) / "manifest.json").read_text()))
    monkeypatch.setattr(qa_models, "ARTIFACTS", (("tflite-fp32", "tflite", "fp32"),
                                                 ("tflite-int8-hadamard", "tflite", "int8-hadamard")))
    for name in ("step_teacher", "step_student"):
        monkeypatch.setattr(qa_models, name, lambda plan: {"eval_f1": 50.0, "eval_exact_match": 40.0})
    monkeypatch.setattr(qa_models, "step_student_init", lambda plan: {"layers": [0, 2, 4]})
    monkeypatch.setattr(qa_models, "step_evaluate_artifacts", lambda plan: {"status": "done", "artifacts": {}})
    assert CliRunner().invoke(cli, args(data, out, teacher)).exit_code == 0
    assert made == [("teacher", "fp32"), ("teacher", "int8-hadamard"), ("student", "fp32"), ("student", "int8-hadamard")]
    marker = out / "steps" / "convert-student-tflite-int8-hadamard.json"
    old = json.loads(marker.read_text())
    assert old["quantization"]["recipe"].endswith(f"max_hadamard_size {quantize.HADAMARD_BLOCK}")
    del old["quantization"]  # as markers were written until 2026-12-04: the manifest still says which recipe
    marker.write_text(json.dumps(old))
    made.clear()
    res = CliRunner().invoke(cli, args(data, out, teacher))
    assert res.exit_code == 0 and made == [] and "redoing" not in res.output, res.output
    monkeypatch.setattr(quantize, "HADAMARD_BLOCK", quantize.HADAMARD_BLOCK // 2)
    res = CliRunner().invoke(cli, args(data, out, teacher))
    assert res.exit_code == 0, res.output
    assert made == [("teacher", "int8-hadamard"), ("student", "int8-hadamard")]  # fp32 kept
    assert (f"quantization recipe changed (dynamic_wi8c_hr_afp32, max_hadamard_size {2 * quantize.HADAMARD_BLOCK} -> "
            f"dynamic_wi8c_hr_afp32, max_hadamard_size {quantize.HADAMARD_BLOCK}): redoing it") in res.output
    assert json.loads(marker.read_text())["quantization"]["recipe"].endswith(f"size {quantize.HADAMARD_BLOCK}")


def test_a_verdict_an_older_gate_took_near_its_bar_is_taken_again(tiny_models, tmp_path, monkeypatch):
    """Runs of before 2026-12-05 judged each file on the gate's first sample only, runs until 2026-12-07 re-checked
    once; where such a verdict lay within the noise of the bar on the answers it had (convert.parity.near_the_bar),
    a re-run gates the file again (today's gate re-checks it on up to 9x the answers). Verdicts far from the bar,
    and those taken by today's gate (markers with `parity_recheck_rounds`), stand."""
    from pocketbert.convert import api
    from pocketbert.convert.parity import ParityError
    from pocketbert.core.parity_report import ParityReport

    data = write_articles(tmp_path / "squad.json")
    out = tmp_path / "qa"
    teacher = tiny_models("bert", "mlm", layers=6)
    made = []

    def fake_convert(fmt, model, task, seq_lens, precision, dest, n, **kw):
        made.append(f"{Path(model).name}-{precision}")
        report = ParityReport(status="failed", runtime="litert", n=3 * n * len(seq_lens), task_agreement=0.9)
        raise ParityError("parity failed: task agreement 90.0% < 97%", report)

    monkeypatch.setattr(api, "convert_model", fake_convert)
    monkeypatch.setattr(qa_models, "ARTIFACTS", (("tflite-int8-mixed", "tflite", "int8-mixed"),
                                                 ("tflite-int8-hadamard", "tflite", "int8-hadamard")))
    for name in ("step_teacher", "step_student"):
        monkeypatch.setattr(qa_models, name, lambda plan: {"eval_f1": 50.0, "eval_exact_match": 40.0})
    monkeypatch.setattr(qa_models, "step_student_init", lambda plan: {"layers": [0, 2, 4]})
    monkeypatch.setattr(qa_models, "step_evaluate_artifacts", lambda plan: {"status": "done", "artifacts": {}})
    assert CliRunner().invoke(cli, args(data, out, teacher)).exit_code == 0
    assert len(made) == 4
    marker = lambda role, suffix: out / "steps" / f"convert-{role}-{suffix}.json"  # noqa: E731
    written = json.loads(marker("student", "tflite-int8-mixed").read_text())
    assert written["parity_examples"] == 12 and written["parity_recheck_rounds"] == 2  # --parity-n 2 x 2 lengths, x3
    for role, suffix, agreement, drop in (
            ("teacher", "tflite-int8-mixed", 0.5, ("parity_examples", "parity_recheck_rounds")),  # far: stands
            ("student", "tflite-int8-mixed", 0.9, ("parity_examples", "parity_recheck_rounds")),  # until 2026-12-04
            ("teacher", "tflite-int8-hadamard", 0.9, ("parity_recheck_rounds",)),  # 2026-12-05 .. 07: 12 answers
            ("student", "tflite-int8-hadamard", 0.9, ())):  # today's gate: stands
        old = json.loads(marker(role, suffix).read_text())
        marker(role, suffix).write_text(json.dumps({**{k: v for k, v in old.items() if k not in drop},
                                                    "task_agreement": agreement}))
    made.clear()
    res = CliRunner().invoke(cli, args(data, out, teacher))
    assert res.exit_code == 0 and made == ["teacher-int8-hadamard", "student-int8-mixed"], res.output
    said = " ".join(res.output.split())
    assert ("its parity gate refused it at 90.0% of 4 answers, within their noise of the 97% bar, before the gate "
            "re-checked such verdicts on up to 36 answers") in said
    assert "refused it at 90.0% of 12 answers" in said
    made.clear()
    assert CliRunner().invoke(cli, args(data, out, teacher)).exit_code == 0 and made == []


def test_the_summary_says_which_int8_artifacts_meet_the_issues_bars():
    """F1 drop <= 0.5 and same span >= 98% against the PyTorch source, per scored int8 file; fp32 files and files
    without scores are not judged."""
    evaluated = {"artifacts": {
        "student-tflite-int8-hadamard": {"f1": 65.49, "source_f1": 65.38, "agreement": 0.976},
        "teacher-tflite-int8-mixed": {"f1": 70.60, "source_f1": 71.27, "agreement": 0.985},
        "teacher-onnx-int8-block": {"f1": 71.08, "source_f1": 71.27, "agreement": 0.982},
        "teacher-tflite-fp32": {"f1": 71.27, "source_f1": 71.27, "agreement": 1.0},
        "student-tflite-int8": {"status": "skipped: not written (parity refused it)"}}}
    targets = qa_models.int8_targets(evaluated)
    assert set(targets) == {"student-tflite-int8-hadamard", "teacher-tflite-int8-mixed", "teacher-onnx-int8-block"}
    assert targets["student-tflite-int8-hadamard"]["f1_drop_met"] and not targets["student-tflite-int8-hadamard"]["same_span_met"]
    assert not targets["teacher-tflite-int8-mixed"]["f1_drop_met"] and targets["teacher-tflite-int8-mixed"]["same_span_met"]
    assert targets["teacher-onnx-int8-block"]["f1_drop_met"] and targets["teacher-onnx-int8-block"]["same_span_met"]
    lines = []
    summary = {"teacher": {"model": "t", "eval_n": 783}, "student": {}, "f1_retention": None, "int8_targets": targets,
               "artifact_accuracy": evaluated,
               "artifacts": {name: {"parity": "passed", "task_agreement": 1.0, "file_size_bytes": 1}
                             for name in evaluated["artifacts"]}}
    qa_models.print_summary(summary, echo=lines.append)
    line = next(ln for ln in lines if "student-tflite-int8-hadamard" in ln)
    assert "int8 targets: F1 drop <= 0.5 met, same span >= 98% NOT met" in line
    assert "int8 targets" not in next(ln for ln in lines if "teacher-tflite-fp32" in ln)
