"""`pocketbert qa ARTIFACT_DIR`: answer one question on this machine exactly as the phone apps would.

The quickest way to try an artifact before copying it into an app: same tokenizer (vocab.txt + manifest
settings), same choice of signature (smallest S that holds the whole passage, else the largest with windows),
same decoder, and the app's latency split (tokenize / model / decode).
"""
from __future__ import annotations

from pathlib import Path

import click

from pocketbert.core.errors import PocketbertError


def read_context(value: str) -> str:
    """TEXT, or @FILE (UTF-8 text) as curl does; one clear line for a missing or unreadable file."""
    if not value.startswith("@"):
        return value
    path = Path(value[1:])
    if not path.is_file():
        raise PocketbertError(f"--context {value}: file {path} does not exist; pass @FILE with a text file or the text itself")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PocketbertError(f"--context {value}: cannot read {path} as UTF-8 text ({type(exc).__name__})") from exc


@click.command("qa")
@click.argument("artifact_dir", type=click.Path(path_type=Path))
@click.option("--question", "-q", required=True, help="the question")
@click.option("--context", "-c", required=True, help="the passage, or @FILE to read it from a text file")
@click.option("--threads", default=None, type=click.IntRange(min=1), help="runtime threads (default: the runtime's own)")
@click.option("--json", "as_json", is_flag=True, help="print the result as one JSON object")
def qa(artifact_dir: Path, question: str, context: str, threads: int | None, as_json: bool) -> None:
    """Answer a question about a passage with a QA artifact, as the iOS/Android apps would.

    Example: pocketbert qa build/android/student-qa --question "Who wrote it?" --context @passage.txt
    """
    import json

    from pocketbert.core.artifact_eval import answer_question, open_qa_artifact
    from pocketbert.core.quiet import native_stderr_captured

    context = read_context(context)
    with native_stderr_captured():  # the runtime's "Created ... delegate" line; replayed if anything fails
        artifact = open_qa_artifact(artifact_dir, threads=threads)
        got = answer_question(artifact, artifact.tokenizer(), question, context)
    a = got.answer
    result = {"answer": a.text, "score": a.score, "start_char": a.start_char, "end_char": a.end_char,
              "window": a.window, "windows": got.windows, "signature": f"seq_{got.seq_len}", "seq_len": got.seq_len,
              "runtime": artifact.backend.runtime, "threads": threads, "tokenize_ms": round(got.tokenize_ms, 3),
              "model_ms": round(got.model_ms, 3), "decode_ms": round(got.decode_ms, 3)}
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"answer: {a.text!r}" if a.text else "answer: (none: no span fits the decoder's limits)")
    click.echo(f"score {a.score:.4f}  chars [{a.start_char}, {a.end_char})  window {a.window + 1} of {got.windows}  "
               f"signature seq_{got.seq_len} ({artifact.backend.runtime}, {artifact.manifest['precision']})")
    click.echo(f"tokenize {got.tokenize_ms:.1f} ms  model {got.model_ms:.1f} ms  decode {got.decode_ms:.1f} ms")


COMMANDS: list[click.Command] = [qa]
