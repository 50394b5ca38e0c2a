"""Build a DistilBERT student from a BERT-family teacher by copying a subset of its layers.

Why copy instead of random init: the DistilBERT paper found that taking one layer out of two from the teacher
is what makes a half-depth student converge in a reasonable budget. The student keeps the teacher's width, so
every copied tensor has the same shape and the copy is exact.

Token types: DistilBERT has no token-type embeddings. The released model simply dropped BERT's. We instead fold
the teacher's token-type row 0 into the position embeddings (position[i] + token_type[0]): for single-segment
input (token_type_ids all 0, which is what pre-training distillation feeds) the student's embedding layer then
computes exactly the teacher's function, so the copied layers see the inputs they were trained on.

Task teachers: a teacher already fine-tuned for question answering (a *ForQuestionAnswering dir) gives a
DistilBertForQuestionAnswering student with the teacher's span head copied too ("shrink and fine-tune", Shleifer &
Rush 2020): task distillation then starts from layers that already answer questions instead of from the
pre-trained ones. `--layers auto` on such a teacher ranks the maps by how well the copy's start/end distributions
agree with the teacher's on SQuAD windows (question + context only, no answers), not by sentence vectors.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pocketbert.core.errors import PocketbertError
from pocketbert.core.model_io import QA_HEAD
from pocketbert.core.models import save_tokenizer
from pocketbert.core.outputs import Marker
from pocketbert.core.registry import MODEL_TYPES

# Written into every student dir; `--force` replaces only dirs that carry it (pocketbert.core.outputs).
MARKER = Marker("init-student", "student_init.json", ("student_layers_from_teacher",))

SUPPORTED_MODEL_TYPES = tuple(MODEL_TYPES)
# Architectures whose checkpoint holds a pre-training MLM head we can copy (and use for soft targets).
MLM_ARCHITECTURES = frozenset({"BertForMaskedLM", "BertForPreTraining", "DistilBertForMaskedLM"})


@dataclass(frozen=True)
class TeacherInfo:
    """What the rest of the stage needs to know about a teacher without reaching into its modules."""

    model_type: str
    n_layers: int
    hidden_size: int
    n_heads: int
    intermediate_size: int
    max_position_embeddings: int
    vocab_size: int
    activation: str
    has_mlm_head: bool
    has_qa_head: bool = False   # fine-tuned for SQuAD: its span head is copied into the student


def teacher_info(config) -> TeacherInfo:
    """Validate a teacher config and summarize it; an unsupported architecture is a one-line error."""
    model_type = getattr(config, "model_type", None)
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise PocketbertError(
            f"unsupported teacher architecture {model_type!r}; distillation supports BERT and DistilBERT teachers "
            "(model_type bert or distilbert)"
        )
    archs = set(getattr(config, "architectures", None) or [])
    has_mlm = bool(archs & MLM_ARCHITECTURES)
    has_qa = any(a.endswith(QA_HEAD) for a in archs)
    if model_type == "bert":
        if getattr(config, "position_embedding_type", "absolute") != "absolute":
            raise PocketbertError(
                f"unsupported teacher: position_embedding_type={config.position_embedding_type!r}; "
                "DistilBERT students need absolute position embeddings"
            )
        return TeacherInfo(
            "bert", config.num_hidden_layers, config.hidden_size, config.num_attention_heads,
            config.intermediate_size, config.max_position_embeddings, config.vocab_size, config.hidden_act, has_mlm,
            has_qa,
        )
    if getattr(config, "sinusoidal_pos_embds", False):
        raise PocketbertError("unsupported teacher: sinusoidal position embeddings; use a teacher with learned ones")
    return TeacherInfo(
        "distilbert", config.n_layers, config.dim, config.n_heads, config.hidden_dim,
        config.max_position_embeddings, config.vocab_size, config.activation, has_mlm, has_qa,
    )


def default_layers(n_teacher_layers: int) -> list[int]:
    """Every other teacher layer, starting at 0 (12 -> 0,2,...,10; 6 -> 0,2,4).

    The released DistilBERT used [0, 2, 4, 7, 9, 11] for a 12-layer teacher (ends on the last layer);
    pass it with --layers to reproduce that choice.
    """
    return list(range(0, n_teacher_layers, 2))


def parse_layers(text: str | None, n_teacher_layers: int) -> list[int]:
    """Parse '0,2,4' and check it fits the teacher (in range, strictly increasing)."""
    if text is None or str(text).strip() == "":
        return default_layers(n_teacher_layers)
    try:
        layers = [int(x) for x in str(text).replace(" ", "").split(",") if x != ""]
    except ValueError as exc:
        raise PocketbertError(f"--layers {text!r} is not a comma-separated list of integers, e.g. 0,2,4") from exc
    validate_layers(layers, n_teacher_layers)
    return layers


def validate_layers(layers: list[int], n_teacher_layers: int) -> None:
    if not layers:
        raise PocketbertError("--layers is empty; give at least one teacher layer index, e.g. 0,2,4")
    bad = [i for i in layers if i < 0 or i >= n_teacher_layers]
    if bad:
        raise PocketbertError(
            f"--layers {','.join(map(str, layers))} does not fit the teacher: it has {n_teacher_layers} layers "
            f"(valid indices 0..{n_teacher_layers - 1}), got {','.join(map(str, bad))}"
        )
    if any(b <= a for a, b in zip(layers, layers[1:])):
        raise PocketbertError(f"--layers {','.join(map(str, layers))} must be strictly increasing teacher indices")


def student_config(info: TeacherInfo, n_layers: int, dim: int | None = None):
    """DistilBertConfig of the student: the teacher's width, vocab and positions, `n_layers` deep."""
    from transformers import DistilBertConfig

    if dim is not None and dim != info.hidden_size:
        if dim > info.hidden_size:
            raise PocketbertError(
                f"student width {dim} is wider than the teacher ({info.hidden_size}); a student copied from the "
                "teacher can be at most as wide as it"
            )
        raise PocketbertError(
            f"student width {dim} differs from the teacher's {info.hidden_size}; initialization by copying layers "
            "needs the same width (omit --dim)"
        )
    return DistilBertConfig(
        vocab_size=info.vocab_size,
        max_position_embeddings=info.max_position_embeddings,
        sinusoidal_pos_embds=False,
        n_layers=n_layers,
        n_heads=info.n_heads,
        dim=info.hidden_size,
        hidden_dim=info.intermediate_size,
        activation=info.activation,
        tie_word_embeddings=True,
        architectures=["DistilBertForQuestionAnswering" if info.has_qa_head else "DistilBertForMaskedLM"],
    )


def load_teacher(name_or_path: str, info: TeacherInfo | None = None):
    """The teacher with its MLM (or SQuAD span) head when the checkpoint has one, else the bare encoder (no random
    head)."""
    from transformers import AutoModel, AutoModelForMaskedLM, AutoModelForQuestionAnswering

    from pocketbert.core.models import load_config, load_model

    info = info or teacher_info(load_config(name_or_path))
    cls = (AutoModelForQuestionAnswering if info.has_qa_head else
           AutoModelForMaskedLM if info.has_mlm_head else AutoModel)
    return load_model(cls, name_or_path, what="teacher").eval()


def _encoder(model):
    """The bare encoder inside a head model (BertForMaskedLM.bert, DistilBertForMaskedLM.distilbert)."""
    return getattr(model, "bert", None) or getattr(model, "distilbert", None) or model


def _layer_tensors(layer, model_type: str) -> dict[str, "torch.Tensor"]:  # noqa: F821
    """One teacher layer's tensors keyed by the DistilBERT TransformerBlock parameter names."""
    if model_type == "distilbert":
        return {k: v for k, v in layer.state_dict().items()}
    names = {
        "attention.q_lin": layer.attention.self.query,
        "attention.k_lin": layer.attention.self.key,
        "attention.v_lin": layer.attention.self.value,
        "attention.out_lin": layer.attention.output.dense,
        "sa_layer_norm": layer.attention.output.LayerNorm,
        "ffn.lin1": layer.intermediate.dense,
        "ffn.lin2": layer.output.dense,
        "output_layer_norm": layer.output.LayerNorm,
    }
    return {f"{prefix}.{p}": t for prefix, mod in names.items() for p, t in mod.state_dict().items()}


def student_state_from_teacher(teacher, info: TeacherInfo, layers: list[int]) -> dict:
    """The student's state dict (DistilBertForMaskedLM / ...ForQuestionAnswering keys) copied from the teacher.

    MLM-head tensors are included only when the teacher has a head; otherwise the student's head keeps its
    fresh init and its projection stays tied to the copied word embeddings. A SQuAD teacher's span head
    (qa_outputs: hidden -> start/end logits) is copied as is: the student's last layer is a copy too.
    """
    import torch

    enc = _encoder(teacher)
    emb = enc.embeddings
    state: dict[str, torch.Tensor] = {}
    pos = emb.position_embeddings.weight.detach().clone()  # (max_pos, dim)
    if info.model_type == "bert":
        pos = pos + emb.token_type_embeddings.weight.detach()[0]  # fold segment 0 in: exact for single-segment input
    state["distilbert.embeddings.word_embeddings.weight"] = emb.word_embeddings.weight.detach().clone()
    state["distilbert.embeddings.position_embeddings.weight"] = pos
    state["distilbert.embeddings.LayerNorm.weight"] = emb.LayerNorm.weight.detach().clone()
    state["distilbert.embeddings.LayerNorm.bias"] = emb.LayerNorm.bias.detach().clone()
    teacher_layers = enc.encoder.layer if info.model_type == "bert" else enc.transformer.layer
    for s_idx, t_idx in enumerate(layers):
        for name, tensor in _layer_tensors(teacher_layers[t_idx], info.model_type).items():
            state[f"distilbert.transformer.layer.{s_idx}.{name}"] = tensor.detach().clone()
    if info.has_mlm_head:
        if info.model_type == "bert":
            head = teacher.cls.predictions
            state["vocab_transform.weight"] = head.transform.dense.weight.detach().clone()
            state["vocab_transform.bias"] = head.transform.dense.bias.detach().clone()
            state["vocab_layer_norm.weight"] = head.transform.LayerNorm.weight.detach().clone()
            state["vocab_layer_norm.bias"] = head.transform.LayerNorm.bias.detach().clone()
            state["vocab_projector.bias"] = head.decoder.bias.detach().clone()
            state["vocab_projector.weight"] = head.decoder.weight.detach().clone()
        else:
            for name in ("vocab_transform", "vocab_layer_norm", "vocab_projector"):
                for p, t in getattr(teacher, name).state_dict().items():
                    state[f"{name}.{p}"] = t.detach().clone()
    if info.has_qa_head:
        for p, t in teacher.qa_outputs.state_dict().items():
            state[f"qa_outputs.{p}"] = t.detach().clone()
    return state


def build_student(teacher, info: TeacherInfo, layers: list[int], dim: int | None = None):
    """A DistilBertForMaskedLM (DistilBertForQuestionAnswering for a SQuAD teacher) with the chosen teacher layers
    copied in (eval mode)."""
    import torch
    from transformers import DistilBertForMaskedLM, DistilBertForQuestionAnswering

    validate_layers(layers, info.n_layers)
    config = student_config(info, len(layers), dim)
    torch.manual_seed(0)  # the fresh MLM head of a headless teacher is reproducible
    student = (DistilBertForQuestionAnswering if info.has_qa_head else DistilBertForMaskedLM)(config)
    state = student_state_from_teacher(teacher, info, layers)
    missing, unexpected = student.load_state_dict(state, strict=False)
    if unexpected:
        raise RuntimeError(f"internal error: unexpected student keys {unexpected[:3]}")
    if info.has_qa_head and missing:
        raise RuntimeError(f"internal error: QA student keys not copied {missing[:3]}")
    if not info.has_qa_head:
        student.tie_weights()
    return student.eval()


AUTO = "auto"


def init_student(teacher_name: str, out: Path, layers_text: str | None = None, dim: int | None = None,
                 force: bool = False, n_layers: int | None = None, sample_data: Path | None = None,
                 echo=None) -> dict:
    """Validate everything, then write the student dir atomically; returns a summary for the CLI.

    layers_text "auto": try the candidate maps of `n_layers` layers (default half the teacher's) and keep the one
    whose copy agrees best with the teacher (distill/layer_choice.py) on the held-out slice of `sample_data`
    (a prepared dir) or, without it, on the embedded English corpus. For a SQuAD teacher `sample_data` is a SQuAD
    JSON file (its questions and contexts, never its answers) and agreement is that of the start/end distributions.
    """
    from pocketbert.core.atomic import atomic_output_dir, write_json
    from pocketbert.core.models import load_config, load_tokenizer, model_slug
    from pocketbert.core.outputs import check_output_dir

    out = Path(out)
    force = check_output_dir(out, force, MARKER, inputs=[teacher_name])
    info = teacher_info(load_config(teacher_name))
    auto = str(layers_text).strip().lower() == AUTO
    if auto:
        n_layers = n_layers or max(1, info.n_layers // 2)
        if not 1 <= n_layers <= info.n_layers:
            raise PocketbertError(f"--n-layers {n_layers} does not fit the teacher's {info.n_layers} layers")
        if info.has_qa_head and (sample_data is None or not Path(sample_data).is_file()):
            raise PocketbertError(f"--layers auto on the SQuAD teacher {teacher_name} needs --sample-data SQUAD.json "
                                  "(questions and contexts to agree on, e.g. its training file)")
        if not info.has_qa_head and sample_data is not None and not Path(sample_data).is_dir():
            raise PocketbertError(f"--sample-data {sample_data} is not a prepared dir; make one with `pocketbert prepare`")
        layers = list(range(n_layers))  # placeholder for the width check below
    else:
        if n_layers is not None:
            raise PocketbertError("--n-layers goes with --layers auto; with explicit --layers the count is theirs")
        layers = parse_layers(layers_text, info.n_layers)
    student_config(info, len(layers), dim)  # width check before loading weights
    tokenizer = load_tokenizer(teacher_name)
    teacher = load_teacher(teacher_name, info)
    ranking = None
    if auto:
        layers, ranking = _choose_layers(teacher, info, tokenizer, n_layers, sample_data, echo)
    student = build_student(teacher, info, layers, dim)
    summary = {
        "teacher": str(teacher_name),
        "teacher_slug": model_slug(teacher_name),
        "teacher_model_type": info.model_type,
        "teacher_layers": info.n_layers,
        "student_layers_from_teacher": layers,
        "mlm_head_copied": info.has_mlm_head,
        "qa_head_copied": info.has_qa_head,
        "token_type_row0_folded_into_positions": info.model_type == "bert",
        "params": sum(p.numel() for p in student.parameters()),
        "teacher_params": sum(p.numel() for p in teacher.parameters()),
    }
    if ranking is not None:
        summary["layer_choice"] = {"metric": ranking[0].metric, "sample": str(sample_data) if sample_data else "embedded corpus",
                                   "candidates": [{"layers": c.layers, **{k: round(v, 5) for k, v in c.scores().items()}}
                                                  for c in ranking]}
    with atomic_output_dir(out, force=force) as tmp:
        student.save_pretrained(tmp)
        save_tokenizer(tokenizer, tmp)
        write_json(tmp / MARKER.file, summary)
    return summary


def _choose_layers(teacher, info: TeacherInfo, tokenizer, n_layers: int, sample_data: Path | None, echo):
    """(best map, ranking) by agreement of each copied-layer student with the teacher on unlabelled text."""
    from pocketbert.distill import layer_choice

    if info.has_qa_head:
        batches = layer_choice.squad_batches(tokenizer, Path(sample_data))
        return _ranked(layer_choice.score_maps_qa(teacher, info, batches, n_layers, build_student=build_student,
                                                  progress=_progress_echo(echo)))
    if sample_data is not None:
        batches = layer_choice.prepared_batches(Path(sample_data), tokenizer.pad_token_id)
    else:
        from pocketbert.core.corpus import embedded_sentences

        sents = embedded_sentences()
        stride = max(1, len(sents) // layer_choice.SAMPLE_SEQUENCES)  # spread over every topic, not the first few
        batches = layer_choice.sample_batches(tokenizer, sents[::stride], max_len=128)

    return _ranked(layer_choice.score_maps(teacher, info, batches, n_layers, build_student=build_student,
                                           encoder_of=_encoder, progress=_progress_echo(echo)))


def _ranked(ranking):
    return ranking[0].layers, ranking


def _progress_echo(echo):
    def progress(i, n, cand):
        if echo is not None:
            scores = "  ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in cand.scores().items())
            echo(f"  [{i}/{n}] layers {','.join(map(str, cand.layers)):<12} {scores}")
    return progress
