"""PyTorch -> .tflite through litert-torch (no TensorFlow): one signature `seq_<S>` per static length.

The signatures share one weight buffer, so several lengths cost little more than one; the app picks the
smallest S that fits its input.
"""
from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from pocketbert.convert.specs import signature_name
from pocketbert.convert.wrappers import NamedOutputs, SourceModel, TaskWrapper, sample_inputs


@contextlib.contextmanager
def quiet_converter():
    """litert-torch and absl print per-pass progress to stdout/stderr; keep the CLI's own progress readable."""
    absl = logging.getLogger("absl")
    old = absl.level
    absl.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        absl.setLevel(old)


def export_tflite(source: SourceModel, seq_lens: list[int], path: Path) -> Path:
    """Write a float32 .tflite with inputs named like the HF model (int32) and named float32 outputs."""
    import litert_torch

    module = NamedOutputs(TaskWrapper(source)).eval()
    converter = litert_torch.Converter()
    for seq_len in sorted(seq_lens):
        # sample_kwargs (not args) so the signature inputs are named input_ids/attention_mask/..., not args_0
        kwargs = dict(zip(source.inputs, sample_inputs(source, seq_len)))
        converter.signature(signature_name(seq_len), module, sample_kwargs=kwargs)
    with quiet_converter():
        edge = converter.convert()
        edge.export(str(path))
    return Path(path)
