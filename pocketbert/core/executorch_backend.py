"""ExecuTorch's Python runtime on a `.pte` artifact (registry.FORMATS["executorch"].backend; CONTRACTS.md §5).

A pocketbert `.pte` holds one method `seq_<S>` per static length (the LiteRT signature names) and three constant
methods that make the file describe itself, because tensors in a `.pte` have no names: `input_names` and
`output_names` (in order) and `delegate` (xnnpack | coreml). convert/executorch_export.py writes them with the
names defined here, so writer and reader share one spelling.

executorch is an optional extra (`pocketbert[executorch]`): it is imported inside the functions that need it, and a
machine without it gets one line (EXECUTORCH_INSTALL_HINT) instead of an ImportError. The runtime's tensors are
torch tensors, so torch is imported with it (the extra depends on torch anyway).
"""
from __future__ import annotations

import importlib.util
import platform
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from pocketbert.core.backend import (
    FEATURE_KEYS, SIGNATURE_PREFIX, Backend, Outputs, first_line, prepare_feeds, signature_name,
)
from pocketbert.core.device_info import package_version
from pocketbert.core.errors import PocketbertError

# The one line a user without the extra sees (convert, parity, bench, evaluate all raise it).
EXECUTORCH_INSTALL_HINT = "executorch is not installed: pip install 'pocketbert[executorch]'"
# Constant methods of a pocketbert .pte: its input / output names in order (tensors in a .pte are unnamed) and the
# delegate its methods were lowered to.
NAME_METHODS = ("input_names", "output_names")
DELEGATE_METHOD = "delegate"
DELEGATES = ("xnnpack", "coreml")  # `convert executorch --delegate`; the first is the default
# MethodMeta dtype codes (c10::ScalarType: 3 = Int, 4 = Long, 6 = Float) -> numpy dtype.
SCALAR_TYPES = {3: np.int32, 4: np.int64, 6: np.float32}


def executorch_installed() -> bool:
    """True when the optional extra is importable (without importing it: it pulls torch)."""
    return importlib.util.find_spec("executorch") is not None


def require_executorch() -> None:
    """One PocketbertError line where the extra is absent; call before any model is loaded."""
    if not executorch_installed():
        raise PocketbertError(EXECUTORCH_INSTALL_HINT)


def manifest_delegate(manifest: dict | None) -> str:
    """The delegate of an ExecuTorch artifact (manifest `quantization.delegate`; XNNPACK when absent)."""
    return ((manifest or {}).get("quantization") or {}).get("delegate") or DELEGATES[0]


def constant_strings(program, method: str) -> list[str] | None:
    """What a constant method of the .pte returns, as strings (None: the file has no such method)."""
    if method not in program.method_names:
        return None
    return [str(x) for x in program.load_method(method).execute([])]


def load_program(path: Path):
    """executorch.runtime's Program for a .pte, or one line for a missing extra / a truncated file."""
    require_executorch()
    from executorch.runtime import Runtime

    try:
        return Runtime.get().load_program(Path(path))
    except (RuntimeError, ValueError) as exc:
        raise PocketbertError(f"cannot load {path}: {first_line(exc)} (truncated or not a .pte); "
                              "re-run `pocketbert convert`") from exc


class ExecuTorchBackend(Backend):
    """One Program per .pte (every length lives in one file); `bind` loads the method `seq_<S>`.

    XNNPACK's threadpool is process-wide: `threads` resets it, which is right in the bench worker (one setting per
    process) and harmless in parity (one backend at a time). A .pte without the name methods is fed FEATURE_KEYS by
    position and its outputs are called output_<i>.
    """

    runtime = "executorch"
    delegate = DELEGATES[0]
    unavailable = "its .pte is lowered to the Core ML delegate, which runs only on macOS / iOS"

    def __init__(self, files: Mapping[int, Path], threads: int | None = None) -> None:
        require_executorch()
        import torch
        from executorch.extension.pybindings import portable_lib

        self._torch = torch
        if threads:
            portable_lib._unsafe_reset_threadpool(int(threads))
        self.version = package_version("executorch")
        self.files = {int(s): Path(p) for s, p in files.items()}
        self.programs = {path: load_program(path) for path in dict.fromkeys(self.files.values())}
        first = self.programs[next(iter(self.files.values()))]
        self.delegate = (constant_strings(first, DELEGATE_METHOD) or [DELEGATES[0]])[0]
        self._methods: dict[tuple[Path, str], tuple] = {}

    @classmethod
    def open(cls, files: Mapping[int, Path], threads: int | None = None,
             compute_units: str = "all") -> "ExecuTorchBackend":
        return cls(files, threads)

    @classmethod
    def unavailable_here(cls, manifest: dict | None = None) -> str | None:
        """XNNPACK runs everywhere; a Core ML-delegated .pte only on macOS (the pip wheel links that backend there)."""
        if manifest_delegate(manifest) == "coreml" and platform.system() != "Darwin":
            return cls.unavailable
        return None

    @classmethod
    def preload(cls) -> None:
        """Import the runtime (and torch, which its bindings need) before the bench worker's memory baseline: a
        phone's C++ runtime has no torch in process, so torch must not be counted as the model's memory."""
        if executorch_installed():
            import executorch.runtime  # noqa: F401

    def _method(self, seq_len: int):
        path = self.files.get(seq_len) or next(iter(self.files.values()))
        program = self.programs[path]
        name = signature_name(seq_len)
        lengths = sorted(m for m in program.method_names if m.startswith(SIGNATURE_PREFIX))
        if name not in lengths:
            if len(lengths) != 1:
                raise PocketbertError(f"{path} has no method {name}; it has {', '.join(lengths) or 'none'}")
            name = lengths[0]
        if (path, name) not in self._methods:
            try:
                self._methods[(path, name)] = (program, program.load_method(name), program.metadata(name))
            except RuntimeError as exc:
                if self.delegate == "coreml" and platform.system() != "Darwin":
                    raise PocketbertError(f"{path} is lowered to the Core ML delegate, which runs only on macOS / iOS "
                                          f"(this is {platform.system()}); export with --delegate xnnpack to run it "
                                          "here") from exc
                raise PocketbertError(f"cannot load method {name} of {path}: {first_line(exc)}; "
                                      "re-run `pocketbert convert`") from exc
        return self._methods[(path, name)]

    def bind(self, seq_len: int, row: Mapping[str, np.ndarray]) -> Callable[[], Outputs]:
        program, method, meta = self._method(seq_len)
        in_names = constant_strings(program, NAME_METHODS[0]) or list(FEATURE_KEYS[: meta.num_inputs()])
        dtypes = {n: SCALAR_TYPES.get(int(meta.input_tensor_meta(i).dtype()), np.int32) for i, n in enumerate(in_names)}
        inputs = [self._torch.from_numpy(a) for a in prepare_feeds(in_names, dtypes, row).values()]  # (1, S) each
        out_names = constant_strings(program, NAME_METHODS[1]) or [f"output_{i}" for i in range(meta.num_outputs())]
        return lambda: dict(zip(out_names, (o.numpy() for o in method.execute(inputs))))
