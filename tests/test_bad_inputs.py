"""Careless input to every command (issue 12): one `Error:` line, exit 1, no traceback, nothing of the user's
deleted, nothing left behind. Each case builds its files in its own tmp dir; the whole dir is compared before and
after the command, so a deleted input, a replaced dir or a leftover temp dir all fail the case.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from convert_helpers import converted
from pocketbert.cli import cli

CLS_TSV = "sentence\tlabel\n" + "".join(f"a {'good' if i % 2 else 'bad'} movie number {i}\t{i % 2}\n" for i in range(8))
STS_TSV = "".join(f"g\tf\t2012\t{i}\t{i % 5}.0\ta man plays a guitar {i}\ta man plays music {i}\n" for i in range(4))
APP_RUN = {"model": "student-qa-fp16", "task": "qa", "precision": "fp16", "seq_len": 128, "runtime": "coreml",
           "latencies_ms": [15.2, 16.0, 15.0]}


def app_json(*runs) -> str:
    return json.dumps({"pocketbert_app_results": 1, "app": "ios_demo", "device": {"name": "iPhone"}, "runs": list(runs)})


@pytest.fixture(scope="module")
def w(tmp_path_factory, tiny_models):
    """Shared read-only inputs: tiny teacher / student / QA model, prepared data, a valid results file."""
    root = tmp_path_factory.mktemp("bad-inputs")
    teacher = tiny_models("bert", "mlm", layers=2)
    (root / "corpus.txt").write_text("the quick brown fox jumps over the lazy dog and runs far away\n" * 40)
    res = CliRunner().invoke(cli, ["prepare", "--corpus", str(root / "corpus.txt"), "--tokenizer", str(teacher),
                                   "--out", str(root / "data"), "--max-len", "32"])
    assert res.exit_code == 0, res.output
    app = root / "app.json"
    app.write_text(app_json(APP_RUN))
    res = CliRunner().invoke(cli, ["bench", "import", str(app), "--out", str(root / "results.jsonl")])
    assert res.exit_code == 0, res.output
    return {"teacher": teacher, "student": tiny_models("distilbert", "mlm", layers=2),
            "qa": tiny_models("distilbert", "qa", layers=2), "data": root / "data",
            "results": root / "results.jsonl", "factory": tmp_path_factory}


def copy_model(src: Path, dest: Path, truncate: bool = False) -> Path:
    shutil.copytree(src, dest)
    if truncate:
        f = dest / "model.safetensors"
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    return dest


def user_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "notes.txt").write_text("my own notes")
    return path


def fake_marker(path: Path, name: str, data: dict) -> Path:
    path.mkdir(parents=True)
    (path / name).write_text(json.dumps(data))
    (path / "weights.bin").write_bytes(b"x" * 10)
    return path


def distill_args(w, student, out, *extra):
    return ["distill", "--teacher", str(w["teacher"]), "--student", str(student), "--data", str(w["data"]),
            "--out", str(out), "--max-steps", "1", *extra]


# id -> builder(w, tmp) returning (args, words the one Error line must contain). The builder writes the user's
# files into tmp; everything in tmp must be byte-identical after the command.
CASES = {
    # ---- --force never destroys inputs or foreign dirs
    "convert --out is the model": lambda w, t: (
        ["convert", "onnx", "--model", str(copy_model(w["qa"], t / "m")), "--task", "qa", "--seq-len", "64",
         "--out", str(t / "m"), "--force"], ["is the input"]),
    "convert --out contains the model": lambda w, t: (
        ["convert", "onnx", "--model", str(copy_model(w["qa"], t / "models" / "m")), "--task", "qa",
         "--seq-len", "64", "--out", str(t / "models"), "--force"], ["contains the input"]),
    "convert --force over a foreign dir": lambda w, t: (
        ["convert", "onnx", "--model", str(w["qa"]), "--task", "qa", "--seq-len", "64", "--out",
         str(user_dir(t / "o")), "--force"], ["not written by `pocketbert convert`", "manifest.json"]),
    "convert --force over an artifact inside the model": lambda w, t: (
        ["convert", "onnx", "--model", str(copy_model(w["qa"], t / "m")), "--task", "qa", "--seq-len", "64",
         "--out", str(fake_marker(t / "m" / "onnx", "manifest.json", {"format": "onnx", "model_file": "a"})),
         "--force"], ["is inside the input"]),
    "init-student --out is the teacher": lambda w, t: (
        ["init-student", "--teacher", str(copy_model(w["teacher"], t / "t")), "--out", str(t / "t"), "--force"],
        ["is the input"]),
    "init-student --force over a prepare dir": lambda w, t: (
        ["init-student", "--teacher", str(w["teacher"]), "--out",
         str(fake_marker(t / "d", "meta.json", {"format": "pocketbert-prepared", "fingerprint": "x"})), "--force"],
        ["student_init.json"]),
    "prepare --out contains the corpus": lambda w, t: (
        ["prepare", "--corpus", str(user_dir(t / "d") / "notes.txt"), "--tokenizer", str(w["teacher"]),
         "--out", str(t / "d"), "--force"], ["contains the input"]),
    "prepare --out is the corpus file": lambda w, t: (
        ["prepare", "--corpus", str(user_dir(t / "d") / "notes.txt"), "--tokenizer", str(w["teacher"]),
         "--out", str(t / "d" / "notes.txt"), "--force"], ["is an existing file"]),
    "distill --out is the student": lambda w, t: (
        distill_args(w, copy_model(w["student"], t / "s"), t / "s", "--force"), ["is the input"]),
    "distill --force over a user dir": lambda w, t: (
        distill_args(w, w["student"], user_dir(t / "r"), "--force"), ["not written by `pocketbert distill`"]),
    "distill --out holds the data": lambda w, t: (
        distill_args(w, w["student"], w["data"].parent, "--force"), ["contains the input"]),
    "finetune --out contains the train file": lambda w, t: (
        ["finetune", "cls", "--model", str(w["student"]), "--train", str(tsv(t / "d" / "train.tsv", CLS_TSV)),
         "--out", str(t / "d"), "--force"], ["contains the input"]),
    "golden --force over a user dir": lambda w, t: (
        ["golden", "--out", str(user_dir(t / "g")), "--force"], ["not written by `pocketbert golden`"]),
    "report over an earlier report with user files": lambda w, t: (
        ["report", str(w["results"]), "--out", str(report_with_notes(w, t / "rep"))], ["--force"]),
    "report --out holds the results": lambda w, t: (
        ["report", str(shutil.copy(w["results"], user_dir(t / "r") / "results.jsonl")), "--out", str(t / "r"),
         "--force"], ["contains the input"]),
    "demo --force over a user dir": lambda w, t: (
        ["demo", "--out", str(user_dir(t / "demo")), "--force"], ["not written by `pocketbert demo`"]),
    # ---- truncated weights: one line naming the file, from every loader
    "init-student truncated teacher": lambda w, t: (
        ["init-student", "--teacher", str(copy_model(w["teacher"], t / "t", truncate=True)), "--out", str(t / "s")],
        ["model.safetensors", "truncated or corrupt"]),
    "convert truncated model": lambda w, t: (
        ["convert", "onnx", "--model", str(copy_model(w["qa"], t / "m", truncate=True)), "--task", "qa",
         "--seq-len", "64", "--out", str(t / "o")], ["model.safetensors", "truncated or corrupt"]),
    "distill truncated student": lambda w, t: (
        distill_args(w, copy_model(w["student"], t / "s", truncate=True), t / "run"), ["truncated or corrupt"]),
    "finetune truncated model": lambda w, t: (
        ["finetune", "cls", "--model", str(copy_model(w["student"], t / "m", truncate=True)), "--train",
         str(tsv(t / "train.tsv", CLS_TSV)), "--out", str(t / "o")], ["truncated or corrupt"]),
    "evaluate truncated model": lambda w, t: (
        ["evaluate", "sts", "--model", str(copy_model(w["student"], t / "m", truncate=True)), "--data",
         str(tsv(t / "sts.tsv", STS_TSV))], ["truncated or corrupt"]),
    "bench host truncated model": lambda w, t: (
        ["bench", "host", str(copy_model(w["qa"], t / "m", truncate=True)), "--out", str(t / "r.jsonl")],
        ["truncated or corrupt"]),
    # ---- late failures and silent results
    "finetune --max-len above the position table": lambda w, t: (
        ["finetune", "cls", "--model", str(w["student"]), "--train", str(tsv(t / "train.tsv", CLS_TSV)),
         "--max-len", "1024", "--out", str(t / "o")], ["max_position_embeddings", "512"]),
    "finetune cls TSV without header": lambda w, t: (
        ["finetune", "cls", "--model", str(w["student"]), "--train",
         str(tsv(t / "train.tsv", CLS_TSV.split("\n", 1)[1])), "--out", str(t / "o")], ["header"]),
    "bench import non-numeric latencies": lambda w, t: (
        ["bench", "import", str(tsv(t / "app.json", app_json({**APP_RUN, "latencies_ms": [1.0, "fast"]}))),
         "--out", str(t / "r.jsonl")], ["latencies_ms", "'fast'"]),
    "bench import: a bad second file appends nothing": lambda w, t: (
        ["bench", "import", str(tsv(t / "a.json", app_json(APP_RUN))),
         str(tsv(t / "b.json", app_json({**APP_RUN, "seq_len": "long"}))), "--out", str(t / "r.jsonl")],
        ["seq_len"]),
    "bench import --out a notes file": lambda w, t: (
        ["bench", "import", str(tsv(t / "a.json", app_json(APP_RUN))), "--out", str(user_dir(t / "d") / "notes.txt")],
        ["not a results JSONL"]),
    "bench host --out a notes file": lambda w, t: (
        ["bench", "host", str(w["qa"]), "--out", str(user_dir(t / "d") / "notes.txt")], ["not a results JSONL"]),
    "bench host --out a dir": lambda w, t: (
        ["bench", "host", str(w["qa"]), "--out", str(user_dir(t / "d"))], ["is a directory"]),
    "evaluate --out a dir": lambda w, t: (
        ["evaluate", "sts", "--model", str(w["student"]), "--data", str(tsv(t / "sts.tsv", STS_TSV)),
         "--out", str(user_dir(t / "d"))], ["is a directory"]),
    "evaluate --out the data file": lambda w, t: (
        ["evaluate", "sts", "--model", str(w["student"]), "--data", str(tsv(t / "sts.tsv", STS_TSV)),
         "--out", str(t / "sts.tsv")], ["is not an `evaluate` results JSON"]),
    "parity with a corrupt model file": lambda w, t: (
        ["parity", str(corrupt_artifact(w, t / "art"))], ["sha256"]),
}


def tsv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def report_with_notes(w, out: Path) -> Path:
    from pocketbert.bench.report import write_report

    write_report([w["results"]], out)
    (out / "notes.txt").write_text("my own notes")
    return out


def corrupt_artifact(w, dest: Path) -> Path:
    """A copy of a converted artifact whose model file keeps its size but not its bytes."""
    art = converted(w["factory"], w["qa"], "onnx", "qa", "fp32")
    shutil.copytree(art, dest)
    model = dest / json.loads((dest / "manifest.json").read_text())["model_file"]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    return dest


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def run_cli(args):
    res = CliRunner().invoke(cli, [str(a) for a in args])
    return res, [line for line in res.output.splitlines() if line.strip()]


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_touches_nothing(w, tmp_path, case):
    args, needles = CASES[case](w, tmp_path)
    before = snapshot(tmp_path)
    res, lines = run_cli(args)
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    errors = [line for line in lines if line.startswith("Error")]
    assert len(errors) == 1, res.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert snapshot(tmp_path) == before, "files changed, deleted or left behind"


def test_prepare_out_dot_is_refused(w, tmp_path, monkeypatch):
    (tmp_path / "corpus.txt").write_text("some text that is long enough to make one chunk of tokens here\n" * 20)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    res, lines = run_cli(["prepare", "--corpus", "corpus.txt", "--tokenizer", str(w["teacher"]), "--out", "."])
    assert res.exit_code == 1 and lines[-1].startswith("Error") and "current directory" in lines[-1], res.output
    assert snapshot(tmp_path) == before


def test_force_replaces_the_commands_own_dir(w, tmp_path):
    out = tmp_path / "student"
    for extra in ([], ["--force"]):
        res, _ = run_cli(["init-student", "--teacher", str(w["teacher"]), "--out", str(out), "--layers", "0", *extra])
        assert res.exit_code == 0, res.output
    res, lines = run_cli(["init-student", "--teacher", str(w["teacher"]), "--out", str(out), "--layers", "0"])
    assert res.exit_code == 1 and "--force" in lines[-1]


def test_report_replaces_an_untouched_earlier_report_and_with_force_one_with_user_files(w, tmp_path):
    out = tmp_path / "rep"
    for extra in ([], []):
        res, _ = run_cli(["report", str(w["results"]), "--out", str(out), *extra])
        assert res.exit_code == 0, res.output
    (out / "notes.txt").write_text("mine")
    res, _ = run_cli(["report", str(w["results"]), "--out", str(out), "--force"])
    assert res.exit_code == 0 and not (out / "notes.txt").exists()


def test_prepare_warns_on_binary_junk(w, tmp_path):
    import random

    rng = random.Random(0)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(rng.randrange(256) for _ in range(60_000)))
    res, lines = run_cli(["prepare", "--corpus", str(junk), "--tokenizer", str(w["teacher"]), "--out",
                          str(tmp_path / "d"), "--max-len", "32"])
    assert res.exit_code == 0, res.output
    assert any(line.startswith("warning:") and "junk.bin" in line and "not text" in line for line in lines), res.output


# ---- distill --resume: a truncated checkpoint, a changed config (units: no training needed)
def test_resume_falls_back_to_the_previous_checkpoint(tmp_path):
    import torch

    from pocketbert.core.errors import PocketbertError
    from pocketbert.distill import checkpoint as ckpt

    payload = {"model": {"w": torch.ones(2)}, "optimizer": {}, "scheduler": {}, "sampler": {"epoch": 0}}
    for step in (1, 2):
        ckpt.save_checkpoint(tmp_path, step, payload, keep=2, rng={"torch": torch.get_rng_state()})
    newest = ckpt.checkpoint_path(tmp_path, 2)
    newest.write_bytes(newest.read_bytes()[:100])
    notices = []
    state = ckpt.load_latest(tmp_path, notice=notices.append)
    assert state["step"] == 1 and len(notices) == 1 and "step-00000002.pt" in notices[0]
    first = ckpt.checkpoint_path(tmp_path, 1)
    first.write_bytes(b"")
    with pytest.raises(PocketbertError, match="no readable checkpoint"):
        ckpt.load_latest(tmp_path, notice=notices.append)


def test_resume_refuses_a_changed_config_unless_allowed():
    from pocketbert.core.errors import PocketbertError
    from pocketbert.distill.run_dir import check_resume_config

    old = {"learning_rate": 5e-4, "max_minutes": 4.0, "seed": 1}
    said = []
    check_resume_config(old, {**old, "max_minutes": 10.0}, False, said.append)  # a new time budget is the same run
    assert said == ["notice: resumed with a changed setting: max_minutes 4.0 -> 10.0"]
    with pytest.raises(PocketbertError, match=r"learning_rate 0.0005 -> 0.001.*--allow-config-change"):
        check_resume_config(old, {**old, "learning_rate": 1e-3}, False, said.append)
    check_resume_config(old, {**old, "learning_rate": 1e-3}, True, said.append)
    assert said[-1] == "notice: resumed with a changed setting: learning_rate 0.0005 -> 0.001"


@pytest.mark.parametrize("task", ["qa", "cls", "sts"])
def test_evaluate_rejects_a_zero_window_length_in_one_line(task, tmp_path):
    """--max-len 0 once fell through to the evaluator; it is a usage error before anything is loaded."""
    res = CliRunner().invoke(cli, ["evaluate", task, "--model", str(tmp_path), "--data", str(tmp_path / "d"),
                                   "--max-len", "0"])
    assert res.exit_code == 2 and "0 is not in the range x>=8" in res.output
