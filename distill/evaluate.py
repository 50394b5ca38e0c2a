"""Task metrics for a model dir: SQuAD EM/F1, classification accuracy/F1, STS-B Spearman, masked-LM accuracy.

QA predictions go through `pocketbert.core.qa` (the same windows and decoder the phone apps use), so the score
measured here is the score the converted artifact should reproduce.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from pocketbert.core.errors import PocketbertError
from pocketbert.core.model_io import CLS_HEAD, INPUT_NAMES, QA_HEAD, cls_tensors, forward_inputs, pick_device
from pocketbert.core.models import load_config, load_model, load_tokenizer
from pocketbert.core.qa import DEFAULT_DOC_STRIDE, DEFAULT_MAX_QUERY_LEN, best_span, make_features
from pocketbert.core.registry import TASKS
from pocketbert.core.squad import QAExample, read_squad, squad_metrics

MLM_HEAD_SUFFIXES = (TASKS["mlm"].head_suffix, "ForPreTraining")  # pre-training checkpoints carry the MLM head


def _require_head(model: str, suffixes: tuple[str, ...], task: str, hint: str) -> None:
    archs = getattr(load_config(model), "architectures", None) or []
    if not any(a.endswith(suffixes) for a in archs):
        raise PocketbertError(f"model {model} has no {task} head ({archs or 'no architectures'}); {hint}")


@torch.no_grad()
def qa_predictions(model, tokenizer, examples: list[QAExample], batch_size: int = 32, max_len: int = 384,
                   doc_stride: int = DEFAULT_DOC_STRIDE, max_query_len: int = DEFAULT_MAX_QUERY_LEN, device=None) -> dict[str, str]:
    """Answer text per question id, decoded over all windows with `best_span`."""
    from tqdm.auto import tqdm

    device = device or torch.device("cpu")
    model.to(device).eval()
    preds: dict[str, str] = {}
    for ex in tqdm(examples, desc="evaluate qa", unit="q", leave=False, disable=None):
        feats = make_features(tokenizer, ex.question, ex.context, max_len, doc_stride, max_query_len)
        starts, ends = [], []
        for lo in range(0, feats.n_windows, batch_size):
            batch = {k: torch.from_numpy(getattr(feats, k)[lo : lo + batch_size]).to(device) for k in INPUT_NAMES}
            out = model(**forward_inputs(model, batch))
            starts.append(out.start_logits.float().cpu().numpy())  # (windows, max_len)
            ends.append(out.end_logits.float().cpu().numpy())
        preds[ex.id] = best_span(feats, np.concatenate(starts), np.concatenate(ends)).text
    return preds


def qa_scores(model, tokenizer, examples: list[QAExample], **kw) -> dict:
    return squad_metrics(examples, qa_predictions(model, tokenizer, examples, **kw))


@torch.no_grad()
def cls_scores(model, tokenizer, data, batch_size: int = 64, max_len: int = 128, device=None) -> dict:
    """Accuracy, plus F1 of label 1 when the labels are binary."""
    device = device or torch.device("cpu")
    model.to(device).eval()
    preds = []
    for lo in range(0, len(data.labels), batch_size):
        batch = {k: v.to(device) for k, v in cls_tensors(tokenizer, data.texts[lo : lo + batch_size], max_len).items()}
        preds.extend(model(**forward_inputs(model, batch)).logits.argmax(-1).cpu().tolist())
    pred, gold = np.array(preds), np.array(data.labels)
    out = {"accuracy": float((pred == gold).mean()), "n": len(gold)}
    if set(gold.tolist()) <= {0, 1}:
        tp = int(((pred == 1) & (gold == 1)).sum())
        fp = int(((pred == 1) & (gold == 0)).sum())
        fn = int(((pred == 0) & (gold == 1)).sum())
        out["f1"] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return out


def evaluate_qa(model: str, data: Path, batch_size: int = 32, limit: int | None = None, max_len: int = 384,
                doc_stride: int = DEFAULT_DOC_STRIDE, max_query_len: int = DEFAULT_MAX_QUERY_LEN, device: str = "auto") -> dict:
    from transformers import AutoModelForQuestionAnswering

    examples = read_squad(data, limit)
    tokenizer = load_tokenizer(model)
    _require_head(model, (QA_HEAD,), "question-answering", "fine-tune it first with `pocketbert finetune qa`")
    net = load_model(AutoModelForQuestionAnswering, model)
    scores = qa_scores(net, tokenizer, examples, batch_size=batch_size, max_len=max_len, doc_stride=doc_stride,
                       max_query_len=max_query_len, device=pick_device(device))
    return {"task": "qa", "model": str(model), "data": str(data), **scores}


def evaluate_cls(model: str, data: Path, batch_size: int = 64, limit: int | None = None, max_len: int = 128,
                 device: str = "auto") -> dict:
    from transformers import AutoModelForSequenceClassification

    from pocketbert.core.datasets_io import read_cls_tsv

    rows = read_cls_tsv(data, limit)
    tokenizer = load_tokenizer(model)
    _require_head(model, (CLS_HEAD,), "classification", "fine-tune it first with `pocketbert finetune cls`")
    net = load_model(AutoModelForSequenceClassification, model)
    if rows.num_labels > net.config.num_labels:
        raise PocketbertError(f"{data} has label {rows.num_labels - 1} but model {model} knows {net.config.num_labels} labels")
    scores = cls_scores(net, tokenizer, rows, batch_size=batch_size, max_len=max_len, device=pick_device(device))
    return {"task": "cls", "model": str(model), "data": str(data), **scores}


@torch.no_grad()
def embed(net, tokenizer, sentences: list[str], batch_size: int, max_len: int, device) -> torch.Tensor:
    """Mean-pooled, L2-normalized sentence embeddings (CONTRACTS.md §2 `embed`)."""
    from pocketbert.core.pooling import mean_pool

    chunks = []
    for lo in range(0, len(sentences), batch_size):
        enc = tokenizer(sentences[lo : lo + batch_size], truncation=True, max_length=max_len, padding=True,
                        return_tensors="pt")
        batch = {k: v.to(device) for k, v in enc.items()}
        hidden = net(**forward_inputs(net, batch)).last_hidden_state  # (bs, seq, dim)
        chunks.append(mean_pool(hidden, batch["attention_mask"]).float().cpu())  # (bs, dim)
    return torch.cat(chunks)


def evaluate_sts(model: str, data: Path, batch_size: int = 64, limit: int | None = None, max_len: int = 128,
                 device: str = "auto") -> dict:
    """Spearman of cosine(mean-pooled embeddings) vs STS-B gold; any BERT-family dir (its encoder) works."""
    from transformers import AutoModel

    from pocketbert.core.datasets_io import read_sts

    sts = read_sts(data, limit)
    tokenizer = load_tokenizer(model)
    dev = pick_device(device)
    net = load_model(AutoModel, model).to(dev).eval()
    rho = sts_spearman(net, tokenizer, sts, batch_size, max_len, dev)
    return {"task": "sts", "model": str(model), "data": str(data), "spearman": rho, "n": len(sts.pairs)}


def sts_spearman(net, tokenizer, sts, batch_size: int, max_len: int, device) -> float:
    """Spearman of cosine(embeddings of each pair) vs the gold scores; `net` is an encoder (e.g. student.distilbert)."""
    from scipy.stats import spearmanr

    a = embed(net, tokenizer, [p[0] for p in sts.pairs], batch_size, max_len, device)
    b = embed(net, tokenizer, [p[1] for p in sts.pairs], batch_size, max_len, device)
    cosine = (a * b).sum(-1).numpy()  # (n,)
    return float(spearmanr(cosine, np.array(sts.scores)).statistic)


@torch.no_grad()
def evaluate_mlm(model: str, data: Path, teacher: str | None = None, batch_size: int = 32, limit: int | None = None,
                 max_len: int = 128, mask_prob: float = 0.15, seed: int = 0, device: str = "auto") -> dict:
    """Top-1 accuracy and perplexity at randomly masked positions (fixed seed), and top-1 agreement with a teacher."""
    from transformers import AutoModelForMaskedLM

    from pocketbert.core.datasets_io import read_text_lines

    lines = read_text_lines(data, limit)
    tokenizer = load_tokenizer(model)
    hint = "masked-LM evaluation needs an MLM head (a distilled student or a *ForMaskedLM model)"
    _require_head(model, MLM_HEAD_SUFFIXES, "masked-LM", hint)
    dev = pick_device(device)
    net = load_model(AutoModelForMaskedLM, model).to(dev).eval()
    t_net = None
    if teacher:
        _require_head(teacher, MLM_HEAD_SUFFIXES, "masked-LM", hint)
        if load_tokenizer(teacher).get_vocab() != tokenizer.get_vocab():
            raise PocketbertError(f"teacher {teacher} has a different vocabulary; agreement needs a shared tokenizer")
        t_net = load_model(AutoModelForMaskedLM, teacher, what="teacher").to(dev).eval()
    gen = torch.Generator().manual_seed(seed)
    correct = agree = total = 0
    nll = 0.0
    for lo in range(0, len(lines), batch_size):
        enc = tokenizer(lines[lo : lo + batch_size], truncation=True, max_length=max_len, padding=True,
                        return_tensors="pt", return_special_tokens_mask=True)
        labels = enc["input_ids"].clone()  # (bs, seq)
        maskable = (enc.pop("special_tokens_mask") == 0) & (enc["attention_mask"] == 1)
        chosen = (torch.rand(labels.shape, generator=gen) < mask_prob) & maskable
        if not chosen.any():
            continue
        enc["input_ids"][chosen] = tokenizer.mask_token_id
        batch = {k: v.to(dev) for k, v in enc.items()}
        logits = net(**forward_inputs(net, batch)).logits[chosen.to(dev)].float()  # (n_masked, vocab)
        gold = labels[chosen].to(dev)
        correct += int((logits.argmax(-1) == gold).sum())
        nll += float(torch.nn.functional.cross_entropy(logits, gold, reduction="sum"))
        total += int(chosen.sum())
        if t_net is not None:
            t_logits = t_net(**forward_inputs(t_net, batch)).logits[chosen.to(dev)]
            agree += int((t_logits.argmax(-1) == logits.argmax(-1)).sum())
    if total == 0:
        raise PocketbertError(f"no tokens were masked in {data}; pass more text or a higher --mask-prob")
    out = {"task": "mlm", "model": str(model), "data": str(data), "accuracy": correct / total,
           "perplexity": math.exp(nll / total), "masked_tokens": total}
    if t_net is not None:
        out["teacher"] = str(teacher)
        out["teacher_top1_agreement"] = agree / total
    return out
