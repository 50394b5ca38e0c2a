"""Keep third-party chatter out of pocketbert's output, so a command's output reads like a report.

What it silences (each seen in `pocketbert demo` output before): torch's pytree deprecation warnings at import,
TensorFlow/absl `I0000 ... flatbuffer_export` lines from the LiteRT converter, transformers' load reports,
`loss_type` notices and "Loading weights" / "Writing model shards" bars, Hugging Face Hub bars. pocketbert's own
progress and every error stay. Set POCKETBERT_VERBOSE=1 to see all of it again (debugging a converter).
Env variables must be set before those libraries are imported, so the CLI calls this first thing.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
from contextlib import contextmanager

VERBOSE_ENV = "POCKETBERT_VERBOSE"
# Environment defaults (a user's own setting wins: setdefault).
QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",            # TensorFlow / LiteRT C++ info and warning lines
    "GLOG_minloglevel": "2",                # glog-based native code
    "TRANSFORMERS_VERBOSITY": "error",      # load reports, notices
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",    # hub and transformers' weight-loading bars
    "TOKENIZERS_PARALLELISM": "false",      # the fork warning of the Rust tokenizer
    "TQDM_DISABLE": "1",                    # other libraries' bars (coremltools passes, the quantizer); pocketbert's
                                            # own bars pass disable= explicitly and still show on a terminal
}
# Python loggers turned down to errors.
QUIET_LOGGERS = ("torch.utils._pytree", "torch._dynamo", "torch._export", "coremltools", "absl", "tensorflow")


def quiet_third_party() -> bool:
    """Apply the defaults above unless POCKETBERT_VERBOSE=1; returns whether anything was silenced."""
    if os.environ.get(VERBOSE_ENV, "") not in ("", "0"):
        return False
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    return True


@contextmanager
def native_stderr_captured():
    """Hold back what native libraries write to file descriptor 2 during the block (converter `I0000` lines,
    "Created TensorFlow Lite XNNPACK delegate", explicit progress bars); replay it if the block raises, so a failure
    still shows everything. With POCKETBERT_VERBOSE=1, or when fd 2 cannot be duplicated, nothing is held back.
    """
    if os.environ.get(VERBOSE_ENV, "") not in ("", "0"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                held.seek(0)
                sys.stderr.write(held.read().decode("utf-8", errors="replace"))
                sys.stderr.flush()
