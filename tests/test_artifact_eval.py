"""Accuracy of converted artifacts, measured the way the apps run them: `pocketbert evaluate ... --model ARTIFACT_DIR`,
`pocketbert qa ARTIFACT_DIR`, and the apps' signature choice (smallest S that holds the passage, else the largest)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from convert_helpers import QA_SEQ, TEXT_SEQ, converted

SHORT = "Paris is the capital of France."  # fits seq_64 with the question
MEDIUM = " ".join(["The river Seine flows through the city of Paris, which is the capital of France."] * 4)  # > 64, < 128
LONG = " ".join(["Mount Everest is the highest mountain above sea level on Earth, in the Himalayas."] * 12)  # > 128


def _squad(path, contexts):
    """A SQuAD v1.1 file with one question per context, answer = the context's first word."""
    paragraphs = [{"context": c, "qas": [{"id": f"q{i}", "question": "What is the name of the place?",
                                         "answers": [{"text": c.split()[0], "answer_start": 0}]}]}
                  for i, c in enumerate(contexts)]
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}))
    return path


@pytest.fixture(scope="module")
def qa_model(tiny_models):
    return tiny_models("distilbert", "qa", layers=2)


@pytest.fixture(scope="module")
def tflite_two_lens(tmp_path_factory, qa_model):
    """The same artifact test_convert_android builds (cached per session): signatures seq_64 and seq_128."""
    return converted(tmp_path_factory, qa_model, "tflite", "qa", "fp32", seq_lens=(QA_SEQ, 128))


def test_choose_seq_len_is_the_apps_rule():
    from pocketbert.core.qa import EncodedPair, choose_seq_len

    def pair(nq, nc):
        return EncodedPair("", [1] * nq, [], [2] * nc, [], [])

    assert choose_seq_len([128, 64], pair(10, 51)) == 64  # 10 + 51 + 3 = 64 fits exactly
    assert choose_seq_len([128, 64], pair(10, 52)) == 128
    assert choose_seq_len([64, 128], pair(10, 500)) == 128  # nothing fits: the largest, with windows


def test_signature_choice_smallest_that_fits(tmp_path, tflite_two_lens):
    from pocketbert.core.artifact_eval import answer_question, evaluate_artifact, open_qa_artifact

    art = open_qa_artifact(tflite_two_lens)
    tok = art.tokenizer()
    got = {name: answer_question(art, tok, "What is the name of the place?", c)
           for name, c in (("short", SHORT), ("medium", MEDIUM), ("long", LONG))}
    assert (got["short"].seq_len, got["short"].windows) == (64, 1)
    assert (got["medium"].seq_len, got["medium"].windows) == (128, 1)
    assert got["long"].seq_len == 128 and got["long"].windows > 1
    for g in got.values():  # the answer is a real span of its context
        assert g.answer.text and g.answer.text == g.features.context[g.answer.start_char:g.answer.end_char]

    res = evaluate_artifact(tflite_two_lens, "qa", _squad(tmp_path / "sq.json", [SHORT, MEDIUM, LONG]),
                            progress=False)
    assert res["questions_per_signature"] == {"seq_64": 1, "seq_128": 2}
    assert res["windows_per_signature"] == {"seq_64": 1, "seq_128": 1 + got["long"].windows}
    assert sum(res["window_share"].values()) == pytest.approx(1.0)
    assert res["agreement"] == 1.0  # fp32: the same span as PyTorch on every question
    assert (res["exact_match"], res["f1"]) == (res["source_scores"]["exact_match"], res["source_scores"]["f1"])


def test_evaluate_artifact_agrees_with_evaluate_on_its_source(tmp_path_factory, tmp_path, qa_model):
    """One signature: the artifact's windows are make_features(S, manifest stride/query len), so the PyTorch
    evaluation with those settings must give the very same answers and scores."""
    from pocketbert.core.artifact_eval import evaluate_artifact
    from pocketbert.core.manifest import load_manifest
    from pocketbert.core.models import load_tokenizer
    from pocketbert.core.squad import read_squad
    from pocketbert.distill.evaluate import evaluate_qa, qa_predictions

    art = converted(tmp_path_factory, qa_model, "onnx", "qa", "fp32")  # seq_64 only (as test_convert_parity)
    data = _squad(tmp_path / "sq.json", [SHORT, MEDIUM, LONG])
    tok = load_manifest(art)["tokenizer"]
    settings = dict(max_len=QA_SEQ, doc_stride=tok["doc_stride"], max_query_len=tok["max_query_len"])
    res = evaluate_artifact(art, "qa", data, progress=False, predictions=True)
    from transformers import AutoModelForQuestionAnswering

    ref = qa_predictions(AutoModelForQuestionAnswering.from_pretrained(qa_model), load_tokenizer(qa_model),
                         read_squad(data), **settings)
    assert res["predictions"] == ref
    torch_scores = evaluate_qa(str(qa_model), data, **settings)
    assert (res["exact_match"], res["f1"]) == (torch_scores["exact_match"], torch_scores["f1"])
    assert res["windows_per_signature"] == {"seq_64": res["windows"]} and res["runtime"] == "onnxruntime"


def test_evaluate_cli_on_artifact_writes_json_and_results_record(tmp_path, tflite_two_lens):
    from pocketbert.cli import cli
    from pocketbert.core.results import read_records

    data = _squad(tmp_path / "sq.json", [SHORT, LONG])
    out, results = tmp_path / "eval.json", tmp_path / "results.jsonl"
    res = CliRunner().invoke(cli, ["evaluate", "qa", "--model", str(tflite_two_lens), "--data", str(data),
                                   "--out", str(out), "--results", str(results), "--threads", "1"])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    assert got["n"] == 2 and got["agreement"] == 1.0 and got["threads"] == 1
    assert set(got["windows_per_signature"]) == {"seq_64", "seq_128"}
    [rec] = read_records([results])  # schema-valid, so `pocketbert report` can join it
    assert rec["accuracy"] == {"metric": "f1", "value": got["f1"]}
    assert rec["runtime"]["name"] == "litert" and rec["extra"]["window_share"] == got["window_share"]

    no_cmp = CliRunner().invoke(cli, ["evaluate", "qa", "--model", str(tflite_two_lens), "--data", str(data),
                                      "--no-compare", "--out", str(out)])
    assert no_cmp.exit_code == 0, no_cmp.output
    assert "agreement" not in json.loads(out.read_text())


def test_evaluate_sts_and_cls_on_artifacts(tmp_path_factory, tmp_path, tiny_models):
    from pocketbert.core.artifact_eval import evaluate_artifact

    embed = converted(tmp_path_factory, tiny_models("bert", "base", layers=2), "tflite", "embed", "fp32")
    sts = tmp_path / "sts.csv"
    rows = [("A man is playing a guitar.", "A man plays the guitar.", 4.8), ("A dog runs.", "The stock market fell.", 0.2),
            ("Two kids play in the park outside today.", "Children are playing outside.", 3.9),
            ("A woman slices an onion.", "Someone is cutting vegetables in a kitchen.", 3.1)]
    sts.write_text("".join(f"main-captions\tMSRvid\t2012test\t{i}\t{s}\t{a}\t{b}\n" for i, (a, b, s) in enumerate(rows)))
    res = evaluate_artifact(embed, "sts", sts, progress=False)
    assert res["n"] == 4 and res["agreement"] > 0.9999  # mean cosine(artifact, PyTorch) of every embedding
    assert res["spearman"] == pytest.approx(res["source_scores"]["spearman"])
    assert res["windows_per_signature"] == {f"seq_{TEXT_SEQ}": 8}

    cls = converted(tmp_path_factory, tiny_models("bert", "cls", layers=2, hidden_size=128, intermediate_size=512),
                    "tflite", "cls", "fp32")
    tsv = tmp_path / "cls.tsv"
    tsv.write_text("sentence\tlabel\na fine film\t1\na dull, lifeless mess\t0\nit works\t1\n")
    res = evaluate_artifact(cls, "cls", tsv, progress=False)
    assert res["n"] == 3 and res["agreement"] == 1.0
    assert res["accuracy"] == res["source_scores"]["accuracy"]


def test_qa_command_answers_like_the_app(tflite_two_lens, tmp_path):
    from pocketbert.cli import cli

    passage = tmp_path / "passage.txt"
    passage.write_text(LONG, encoding="utf-8")
    res = CliRunner().invoke(cli, ["qa", str(tflite_two_lens), "--question", "Where is Everest?",
                                   "--context", f"@{passage}", "--threads", "1", "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.output.strip().splitlines()[-1])
    assert got["signature"] == "seq_128" and got["windows"] > 1
    assert got["answer"] == LONG[got["start_char"]:got["end_char"]] and got["answer"]
    assert got["model_ms"] > 0 and got["tokenize_ms"] > 0 and got["decode_ms"] > 0

    text = CliRunner().invoke(cli, ["qa", str(tflite_two_lens), "-q", "What is the capital?", "-c", SHORT])
    assert text.exit_code == 0, text.output
    assert "answer: " in text.output and "signature seq_64" in text.output and "model " in text.output


@pytest.mark.parametrize("args,msg", [
    (["-q", "  ", "-c", SHORT], "question is empty"),
    (["-q", "Who?", "-c", ""], "context is empty"),
    (["-q", "Who?", "-c", "@/nonexistent/passage.txt"], "does not exist"),
])
def test_qa_command_bad_input_is_one_line(tflite_two_lens, args, msg):
    from pocketbert.cli import cli

    res = CliRunner().invoke(cli, ["qa", str(tflite_two_lens), *args])
    assert res.exit_code != 0 and msg in res.output
    assert res.output.strip().startswith("Error:") and len(res.output.strip().splitlines()) == 1


def test_qa_command_rejects_non_artifacts_and_other_tasks(tmp_path_factory, tmp_path, tiny_models, qa_model):
    from pocketbert.cli import cli

    embed = converted(tmp_path_factory, tiny_models("bert", "base", layers=2), "tflite", "embed", "fp32")
    for target, msg in ((qa_model, "not an artifact dir"), (tmp_path / "nope", "does not exist"),
                        (embed, "embed model, not question answering")):
        res = CliRunner().invoke(cli, ["qa", str(target), "-q", "Who?", "-c", SHORT])
        assert res.exit_code != 0 and msg in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1


def test_evaluate_artifact_bad_input_is_one_line(tmp_path_factory, tmp_path, tiny_models, tflite_two_lens):
    from pocketbert.cli import cli

    data = _squad(tmp_path / "sq.json", [SHORT])
    embed = converted(tmp_path_factory, tiny_models("bert", "base", layers=2), "tflite", "embed", "fp32")
    cases = [
        (["qa", "--model", str(embed), "--data", str(data)], "needs a qa artifact"),
        (["qa", "--model", str(tflite_two_lens), "--data", str(data), "--max-len", "256"], "carries its own lengths"),
        (["qa", "--model", str(tflite_two_lens), "--data", str(tmp_path / "missing.json")], "does not exist"),
        (["qa", "--model", "minilm", "--data", str(data), "--no-compare"], "apply to artifact dirs"),
    ]
    for args, msg in cases:
        res = CliRunner().invoke(cli, ["evaluate", *args])
        assert res.exit_code != 0 and msg in res.output, res.output
        assert "Traceback" not in res.output


def test_artifact_tokenizer_matches_the_source_tokenizer(tflite_two_lens, qa_model):
    """vocab.txt + manifest settings give the source's ids (transformers 5 ignores `vocab_file=`: all [UNK] then)."""
    from pocketbert.core.models import load_tokenizer
    from pocketbert.core.runtime import load_artifact

    text = "Héllo, Paris is the capital of France; naïve 東京 tokens."
    got = load_artifact(tflite_two_lens).tokenizer()(text)["input_ids"]
    assert got == load_tokenizer(qa_model)(text)["input_ids"] and 100 not in got[1:-1]


def test_scoring_two_artifacts_of_one_model_runs_the_model_once_per_question(tmp_path_factory, tmp_path, qa_model,
                                                                              monkeypatch):
    """qa-models scores every artifact of a model against that model on the apps' windows: the PyTorch outputs of
    the first scoring are reused for the second artifact's same windows, with the same source scores."""
    from pocketbert.core import reference_cache
    from pocketbert.core.artifact_eval import evaluate_artifact
    from pocketbert.core.model_io import TorchTaskModel

    real, calls = TorchTaskModel._run, []
    monkeypatch.setattr(TorchTaskModel, "_run", lambda self, feeds: (calls.append(1), real(self, feeds))[1])
    data = _squad(tmp_path / "sq.json", [SHORT, MEDIUM])
    tflite = converted(tmp_path_factory, qa_model, "tflite", "qa", "fp32")
    onnx = converted(tmp_path_factory, qa_model, "onnx", "qa", "fp32")  # the same seq_64 windows
    reference_cache.clear()
    first = evaluate_artifact(tflite, "qa", data, progress=False)
    assert len(calls) == 2  # one forward per question
    second = evaluate_artifact(onnx, "qa", data, progress=False)
    assert len(calls) == 2 and first["source_scores"] == second["source_scores"]
    assert first["agreement"] == second["agreement"] == 1.0
