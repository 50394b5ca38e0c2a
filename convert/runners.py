"""Run a converted artifact on numpy feeds: LiteRT signature runners, onnxruntime sessions, Core ML predict.

Each runner takes (n, seq) int32 feeds for one static length and returns {output name: (n, ...) float32},
feeding the batch-1 model row by row (the artifacts are static (1, S) by design).
"""
from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from pocketbert.convert.specs import signature_name
from pocketbert.core.errors import PocketbertError


def _rows(feeds: dict[str, np.ndarray]):
    n = next(iter(feeds.values())).shape[0]
    for i in range(n):
        yield {k: v[i : i + 1].astype(np.int32) for k, v in feeds.items()}  # (1, seq)


def _stack(per_row: list[dict[str, np.ndarray]], names: list[str]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([r[name] for r in per_row]).astype(np.float32) for name in names}


class TFLiteRunner:
    runtime = "litert"

    def __init__(self, path: Path, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        except (ValueError, RuntimeError) as exc:
            raise PocketbertError(
                f"cannot load {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__} "
                "(truncated or not a .tflite); re-run `pocketbert convert`"
            ) from exc
        self.signatures = self.interpreter.get_signature_list()

    def run(self, seq_len: int, feeds: dict[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
        sig = signature_name(seq_len)
        if sig not in self.signatures:
            raise PocketbertError(f"the .tflite has no signature {sig} (has {', '.join(self.signatures)})")
        runner = self.interpreter.get_signature_runner(sig)
        return _stack([runner(**row) for row in _rows(feeds)], names)


class OnnxRunner:
    runtime = "onnxruntime"

    def __init__(self, files: dict[int, Path], threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        self.sessions = {}
        for seq_len, path in files.items():
            try:
                self.sessions[seq_len] = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
                raise PocketbertError(
                    f"cannot load {path}: {str(exc).splitlines()[0][:200]} (truncated or not ONNX); re-run `pocketbert convert`"
                ) from exc

    def run(self, seq_len: int, feeds: dict[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
        sess = self.sessions[seq_len]
        return _stack([dict(zip(names, sess.run(names, row))) for row in _rows(feeds)], names)


class CoreMLRunner:
    """MLModel.predict; only on macOS (Core ML has no Linux runtime)."""

    runtime = "coreml"

    def __init__(self, path: Path, compute_units: str = "all") -> None:
        from pocketbert.convert.coreml_export import import_coremltools

        ct = import_coremltools()
        units = {
            "all": ct.ComputeUnit.ALL, "cpu_and_ne": ct.ComputeUnit.CPU_AND_NE,
            "cpu_and_gpu": ct.ComputeUnit.CPU_AND_GPU, "cpu_only": ct.ComputeUnit.CPU_ONLY,
        }[compute_units]
        self.model = ct.models.MLModel(str(path), compute_units=units)

    def run(self, seq_len: int, feeds: dict[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
        per_row = []
        for row in _rows(feeds):
            out = self.model.predict(row)
            per_row.append({k: np.asarray(out[k], dtype=np.float32) for k in names})  # (1, ...) each
        return _stack(per_row, names)


def coreml_can_predict() -> bool:
    return platform.system() == "Darwin"
