"""Adding an export format is one registry record plus two new modules (an export module, a runtime module).

The test writes a TorchScript "format" as two small modules under tmp_path, registers one `FormatRecord` that
names them, and runs convert (export + parity gate) -> manifest -> load and run through core.runtime. Nothing
else in pocketbert learns the format's name: if convert, the manifest schema or the runtime layer kept their own
list of formats, this would fail.
"""
from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from pocketbert.core import registry
from pocketbert.core.errors import PocketbertError

FORMAT = "torchscript"

EXPORT_MODULE = '''
"""Export: one traced TorchScript file per static length, output names beside it."""
import json

import torch

from pocketbert.convert.wrappers import TaskWrapper, sample_inputs
from pocketbert.core.backend import signature_name


def export(source, tokenizer, seq_lens, precision, out_dir, calibration, opts):
    wrapper = TaskWrapper(source).eval()
    sigs = []
    for s in sorted(seq_lens):
        name = f"model_seq_{s}.pt"
        with torch.no_grad():
            torch.jit.trace(wrapper, sample_inputs(source, s)).save(str(out_dir / name))
        sigs.append({"name": signature_name(s), "seq_len": s, "file": name})
    (out_dir / "outputs.json").write_text(json.dumps({"inputs": source.inputs, "outputs": source.outputs}))
    return sigs[-1]["file"], sigs, None
'''

RUNTIME_MODULE = '''
"""Runtime: torch.jit.load, one module per length, fed the (1, S) int32 windows core.backend prepares."""
import json
from pathlib import Path

import numpy as np
import torch

from pocketbert.core.backend import Backend, prepare_feeds


class TorchScriptBackend(Backend):
    runtime = "torchscript"
    delegate = "cpu"

    def __init__(self, files):
        self.models = {s: torch.jit.load(str(p)).eval() for s, p in files.items()}
        io = json.loads((Path(next(iter(files.values()))).parent / "outputs.json").read_text())
        self.inputs, self.outputs = io["inputs"], io["outputs"]
        self.version = torch.__version__

    @classmethod
    def open(cls, files, threads=None, compute_units="all"):
        return cls(files)

    def bind(self, seq_len, row):
        model = self.models[seq_len]
        feeds = prepare_feeds(self.inputs, {n: np.int32 for n in self.inputs}, row)
        args = [torch.from_numpy(feeds[n]) for n in self.inputs]

        def run():
            with torch.no_grad():
                return {k: v.numpy() for k, v in zip(self.outputs, model(*args))}
        return run
'''


@pytest.fixture
def torchscript_format(tmp_path, monkeypatch):
    """The whole addition: two modules on the path and one record in the registry."""
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "ts_export.py").write_text(textwrap.dedent(EXPORT_MODULE))
    (plugin / "ts_runtime.py").write_text(textwrap.dedent(RUNTIME_MODULE))
    monkeypatch.syspath_prepend(str(plugin))
    record = registry.FormatRecord(FORMAT, "model_seq_<S>.pt per length", ("fp32",), "torchscript",
                                   export="ts_export:export", backend="ts_runtime:TorchScriptBackend",
                                   aliases=("ts",))
    monkeypatch.setitem(registry.FORMATS, FORMAT, record)
    return record


def test_a_registered_format_converts_with_parity_loads_and_runs(torchscript_format, tiny_models, tmp_path):
    from pocketbert.convert.api import convert_model
    from pocketbert.convert.wrappers import load_source, torch_outputs
    from pocketbert.core.manifest import validate_manifest
    from pocketbert.core.runtime import load_artifact

    model = tiny_models("distilbert", "qa", layers=2)
    out = convert_model("ts", model, "qa", [32, 48], "fp32", tmp_path / "art", n=4)  # the record's alias
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == FORMAT and manifest["model_file"] == "model_seq_48.pt"
    assert manifest["parity"]["status"] == "passed" and manifest["parity"]["runtime"] == "torchscript"
    assert [s["file"] for s in manifest["signatures"]] == ["model_seq_32.pt", "model_seq_48.pt"]

    artifact = load_artifact(out)  # core.runtime picks the plugin's backend from the registry
    assert type(artifact.backend).__name__ == "TorchScriptBackend"
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 2000, size=(2, 32)).astype(np.int32)
    ids[:, 0], ids[:, 20:] = 101, 0
    feeds = {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int32)}
    got = artifact.run(32, feeds)
    want = torch_outputs(load_source(model, "qa"), feeds)
    for name in ("start_logits", "end_logits"):
        assert got[name].shape == (2, 32)
        np.testing.assert_allclose(got[name], want[name], atol=1e-4)

    # the manifest schema's format enum is the registry: without the record the same manifest is invalid
    del registry.FORMATS[FORMAT]
    with pytest.raises(PocketbertError, match="invalid manifest at format"):
        validate_manifest(manifest)
    registry.FORMATS[FORMAT] = torchscript_format  # monkeypatch restores the registry after the test


def test_a_registered_format_checks_its_precisions(torchscript_format, tiny_models, tmp_path):
    from pocketbert.convert.api import convert_model

    with pytest.raises(PocketbertError, match="not valid for torchscript; choose one of fp32"):
        convert_model(FORMAT, tiny_models("distilbert", "qa", layers=2), "qa", [32], "fp16", tmp_path / "art")
    assert not (tmp_path / "art").exists()


def test_a_format_whose_runtime_is_absent_needs_a_spec_check(tmp_path, monkeypatch, tiny_models):
    """can_run_here() False (Core ML off macOS is the real case): parity asks the export module for check_spec, and
    without one the conversion stops with one line and leaves nothing behind."""
    from pocketbert.convert.api import convert_model

    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "far_export.py").write_text(textwrap.dedent('''
        def export(source, tokenizer, seq_lens, precision, out_dir, calibration, opts):
            (out_dir / "model.bin").write_bytes(b"weights")
            return "model.bin", [{"name": f"seq_{s}", "seq_len": s, "file": "model.bin"} for s in seq_lens], None
    '''))
    (plugin / "far_runtime.py").write_text(textwrap.dedent('''
        from pocketbert.core.backend import Backend

        class FarBackend(Backend):
            runtime = "far"

            @classmethod
            def can_run_here(cls):
                return False
    '''))
    monkeypatch.syspath_prepend(str(plugin))
    monkeypatch.setitem(registry.FORMATS, "far", registry.FormatRecord(
        "far", "model.bin", ("fp32",), "far", export="far_export:export", backend="far_runtime:FarBackend"))
    with pytest.raises(PocketbertError, match="cannot run on this machine and far_export has no check_spec"):
        convert_model("far", tiny_models("distilbert", "qa", layers=2), "qa", [32], "fp32", tmp_path / "art")
    assert not (tmp_path / "art").exists()
