"""`pocketbert report`: results JSONL -> one page per device + a summary, as Markdown and self-contained HTML.

Pages are built once as a list of blocks and rendered twice, so the Markdown and the HTML always say the same.
"""
from __future__ import annotations

import base64
import html
import json
import re
from collections import defaultdict
from pathlib import Path

from pocketbert.core.errors import PocketbertError
from pocketbert.core.outputs import Marker
from pocketbert.core.results import read_records

from pocketbert.bench.charts import (grouped_bars, infer_role, latency_value, model_sort_key, precision_rank,
                                     scatter, series_color)

# Written into every report dir with the list of files the report wrote (JSON); see only_report_files.
MARKER = Marker("report", ".pocketbert-report")
# 6 of 12 encoder layers: the speedup a student gets from depth alone (embeddings and head are the same).
LAYER_SPEEDUP_CEILING = 2.0
# A student/teacher latency ratio from interleaved rounds is called "unstable" when the interquartile range of
# its per-round ratios is wider than this share of their median (the host's load moved between rounds).
UNSTABLE_RATIO_SPREAD = 0.10
MIB = 2**20
MB = 1e6


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower() or "device"


def _fmt(v, digits=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _ms(v) -> str:
    """Milliseconds: 3 significant digits below 10 ms (tiny models), one decimal above."""
    if v is None:
        return "–"
    return f"{v:.3g}" if v < 10 else f"{v:.1f}"


def _setting(rec: dict) -> tuple:
    """What must match for two records to be compared: runtime, delegate/compute units, threads, precision, seq."""
    rt = rec["runtime"]
    return (rt["name"], rt.get("delegate") or rt.get("compute_units") or "", rec["threads"] or 0, rec["precision"],
            rec["seq_len"])


def _series_label(rec: dict) -> str:
    return f"{rec['model']['name']} {rec['precision']} ({rec['runtime']['name']})"


def round_ratios(teacher: dict, student: dict) -> list[float] | None:
    """Per-round student/teacher p50 ratios when both records come from the same interleaved measurement."""
    t_x, s_x = teacher.get("extra") or {}, student.get("extra") or {}
    t_il, s_il = t_x.get("interleave") or {}, s_x.get("interleave") or {}
    t_r, s_r = t_x.get("round_p50_ms") or [], s_x.get("round_p50_ms") or []
    if not t_il or t_il.get("id") != s_il.get("id") or len(t_r) != len(s_r) or len(t_r) < 2:
        return None
    return [s / t for s, t in zip(s_r, t_r) if t]


def ratio_spread(ratios: list[float]) -> dict:
    """Median, interquartile range and the unstable verdict of per-round ratios."""
    import numpy as np

    q25, med, q75 = (float(x) for x in np.percentile(np.asarray(ratios, dtype=np.float64), [25, 50, 75]))
    spread = (q75 - q25) / med if med else None
    return {"median": med, "iqr": (q25, q75), "spread": spread, "rounds": len(ratios),
            "unstable": bool(spread is not None and spread > UNSTABLE_RATIO_SPREAD)}


def ratio_rows(records: list[dict]) -> list[dict]:
    """Student/teacher ratios of latency, size and peak memory for every setting that has both."""
    by_setting: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for rec in records:
        role = infer_role(rec)
        if role in ("teacher", "student"):
            by_setting[_setting(rec)].setdefault(role, rec)
    rows = []
    for setting in sorted(by_setting, key=lambda s: (s[0], s[1], s[2], precision_rank(s[3]), s[4])):
        pair = by_setting[setting]
        if len(pair) < 2:
            continue
        t, s = pair["teacher"], pair["student"]

        def ratio(a, b):
            return round(a / b, 3) if a is not None and b else None

        row = {"runtime": setting[0], "delegate": setting[1], "threads": setting[2], "precision": setting[3],
               "seq_len": setting[4], "teacher": t["model"]["name"], "student": s["model"]["name"],
               "teacher_ms": latency_value(t), "student_ms": latency_value(s),
               "latency_ratio": ratio(latency_value(s), latency_value(t)),
               "speedup": ratio(latency_value(t), latency_value(s)),
               "size_ratio": ratio(s["model_size_bytes"], t["model_size_bytes"]),
               "memory_ratio": ratio(s["peak_memory_bytes"], t["peak_memory_bytes"]),
               "rounds": 1, "ratio_iqr": None, "unstable": None}
        per_round = round_ratios(t, s)
        if per_round:  # interleaved: the median of per-round ratios, with its spread, replaces p50 / p50
            st = ratio_spread(per_round)
            row.update(latency_ratio=round(st["median"], 3), speedup=round(1 / st["median"], 3) if st["median"] else None,
                       rounds=st["rounds"], ratio_iqr=tuple(round(x, 3) for x in st["iqr"]), unstable=st["unstable"])
        rows.append(row)
    return rows


def accuracy_only(rec: dict) -> bool:
    """An accuracy record of `pocketbert evaluate` (extra.kind = "accuracy"): its latency is a per-window mix of
    lengths measured while scoring, not a benchmark, so it joins tables by its accuracy only."""
    return (rec.get("extra") or {}).get("kind") == "accuracy"


def accuracy_index(records: list[dict]) -> dict[tuple[str, str], dict]:
    """{(model name, precision): accuracy} from every record that carries one.

    Accuracy belongs to the artifact, not to the device that timed it, so a score measured once (on the host, by
    `pocketbert evaluate`) joins the latency records of every device; a device's own score wins over another's.
    """
    out: dict[tuple[str, str], dict] = {}
    for rec in records:
        if rec.get("accuracy"):
            out.setdefault((rec["model"]["name"], rec["precision"]), rec["accuracy"])
    return out


def paper_rows(records: list[dict], accuracy: dict[tuple[str, str], dict]) -> list[dict]:
    """The paper's table: one row per (runtime setting, model, precision) with latency per seq-len bucket.

    Ratios (student/teacher) compare with the teacher of the same precision and setting: parameters, file size,
    p50 at the longest common bucket, peak memory and the accuracy (F1 retention for QA).
    """
    groups: dict[tuple, dict[tuple, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for rec in records:
        rt = rec["runtime"]
        setting = (rt["name"], rt.get("delegate") or rt.get("compute_units") or "", rec["threads"] or 0)
        groups[setting][(rec["model"]["name"], rec["precision"])].append(rec)
    rows = []
    for setting in sorted(groups):
        models = groups[setting]
        teachers = {prec: recs for (name, prec), recs in models.items() if infer_role(recs[0]) == "teacher"}
        for (name, prec), recs in sorted(models.items(), key=lambda kv: model_sort_key(kv[1][0])):
            by_seq = {r["seq_len"]: r for r in sorted(recs, key=lambda r: r["seq_len"])}
            longest = by_seq[max(by_seq)]
            acc = accuracy.get((name, prec))
            row = {"runtime": setting[0], "delegate": setting[1], "threads": setting[2], "model": name,
                   "role": infer_role(longest), "precision": prec, "params": longest["model"].get("params"),
                   "size_bytes": longest["model_size_bytes"], "p50_ms": {s: latency_value(r) for s, r in by_seq.items()},
                   "peak_bytes": max((r["peak_memory_bytes"] or 0) for r in recs) or None,
                   "metric": acc["metric"] if acc else None, "accuracy": acc["value"] if acc else None, "vs": {}}
            t_recs = teachers.get(prec)
            if row["role"] == "student" and t_recs:
                t_seq = {r["seq_len"]: r for r in t_recs}
                common = max(set(t_seq) & set(by_seq), default=None)
                t_acc = accuracy.get((t_recs[0]["model"]["name"], prec))

                def ratio(a, b):
                    return a / b if a is not None and b else None

                per_round = round_ratios(t_seq[common], by_seq[common]) if common else None
                row["vs"] = {"teacher": t_recs[0]["model"]["name"],
                             "params": ratio(row["params"], t_recs[0]["model"].get("params")),
                             "size": ratio(row["size_bytes"], t_recs[0]["model_size_bytes"]),
                             # interleaved rounds: the median of per-round ratios, as in ratio_rows
                             "latency": (ratio_spread(per_round)["median"] if per_round else
                                         ratio(latency_value(by_seq[common]), latency_value(t_seq[common])) if common else None),
                             "latency_seq": common,
                             "latency_unstable": ratio_spread(per_round)["unstable"] if per_round else None,
                             "memory": ratio(row["peak_bytes"], max((r["peak_memory_bytes"] or 0) for r in t_recs) or None),
                             "accuracy": ratio(row["accuracy"], t_acc["value"] if t_acc else None)}
            rows.append(row)
    return rows


def _paper_table(rows: list[dict]):
    seqs = sorted({s for r in rows for s in r["p50_ms"]})
    headers = (["runtime", "threads", "model", "role", "precision", "params M", "size MB"]
               + [f"p50 ms @{s}" for s in seqs]
               + ["peak MiB", "accuracy", "student/teacher: params", "size", "latency (longest seq)", "memory",
                  "accuracy"])

    def pct(v):
        return "–" if v is None else f"{v:.3f}"

    body = []
    for r in rows:
        vs = r["vs"]
        body.append([r["runtime"] + (f"/{r['delegate']}" if r["delegate"] else ""), r["threads"] or "–", r["model"],
                     r["role"] or "–", r["precision"],
                     _fmt(r["params"] / 1e6, 1) if r["params"] else "–",
                     _fmt(r["size_bytes"] / MB, 1) if r["size_bytes"] else "–"]
                    + [_ms(r["p50_ms"].get(s)) for s in seqs]
                    + [_fmt(r["peak_bytes"] / MIB, 0) if r["peak_bytes"] else "–",
                       f"{r['metric']} {r['accuracy']:.4g}" if r["accuracy"] is not None else "–",
                       pct(vs.get("params")), pct(vs.get("size")),
                       (pct(vs["latency"]) + f" @{vs['latency_seq']}" + (" UNSTABLE" if vs.get("latency_unstable") else ""))
                       if vs.get("latency") is not None else "–",
                       pct(vs.get("memory")), pct(vs.get("accuracy"))])
    return ("table", headers, body)


def _scatter(rows: list[dict], png_dir: Path, prefix: str) -> list[tuple]:
    """Quality vs latency at each model's longest bucket, for the rows that have an accuracy."""
    pts = []
    for r in rows:
        if r["accuracy"] is None or not r["p50_ms"]:
            continue
        s = max(r["p50_ms"])
        fake = {"model": {"name": r["model"], "role": r["role"]}, "precision": r["precision"]}
        pts.append((f"{r['model']} {r['precision']} @{s} ({r['runtime']} x{r['threads']})", series_color(fake),
                    r["p50_ms"][s], r["accuracy"]))
    if not pts:
        return []
    metric = next(r["metric"] for r in rows if r["accuracy"] is not None)
    path = scatter(png_dir / f"{prefix}-quality-latency.png", f"{metric} vs latency (p50 at the longest seq len)",
                   "p50 latency (ms)", metric, pts)
    return [("img", path, "quality vs latency")]


def _results_table(records):
    headers = ["model", "role", "weights", "runtime", "delegate", "threads", "precision", "seq", "p50 ms", "p90 ms",
               "mean ms", "min ms", "std ms", "runs", "init ms", "first ms", "peak MiB", "size MB", "parity",
               "accuracy"]
    rows = []
    for r in records:
        lat = r["latency_ms"]
        parity = r.get("parity") or {}
        acc = r.get("accuracy")
        rows.append([r["model"]["name"], infer_role(r) or "–", r["model"].get("weights") or "–", r["runtime"]["name"],
                     r["runtime"].get("delegate") or r["runtime"].get("compute_units") or "–", _fmt(r["threads"]),
                     r["precision"], r["seq_len"], _ms(lat.get("p50")), _ms(lat.get("p90")), _ms(lat["mean"]),
                     _ms(lat["min"]), _ms(lat["std"]), lat["runs"], _ms(r["init_ms"]),
                     _ms(r["first_inference_ms"]),
                     _fmt(r["peak_memory_bytes"] / MIB if r["peak_memory_bytes"] else None, 0),
                     _fmt(r["model_size_bytes"] / MB if r["model_size_bytes"] else None, 1),
                     parity.get("status", "–") + (f" (max_abs {parity['max_abs']:.2g})" if parity.get("max_abs") is not None else ""),
                     f"{acc['metric']} {acc['value']:.4g}" if acc else "–"])
    return ("table", headers, rows)


def spread_text(row: dict) -> str:
    """'IQR 0.49-0.53 over 5 rounds' (+ UNSTABLE), or '1 run' when the models were not interleaved."""
    if not row.get("ratio_iqr"):
        return "not interleaved"
    lo, hi = row["ratio_iqr"]
    return f"IQR {lo:.3f}-{hi:.3f} over {row['rounds']} rounds" + (" UNSTABLE" if row["unstable"] else "")


def _ratio_table(rows, with_device=False):
    headers = (["device"] if with_device else []) + [
        "runtime", "delegate", "threads", "precision", "seq", "teacher p50 ms", "student p50 ms",
        "latency ratio (student/teacher)", "speedup", "size ratio", "peak memory ratio", "ratio spread"]
    body = [([r["device"]] if with_device else []) + [
        r["runtime"], r["delegate"] or "–", r["threads"], r["precision"], r["seq_len"], _ms(r["teacher_ms"]),
        _ms(r["student_ms"]), _fmt(r["latency_ratio"], 3), _fmt(r["speedup"], 2) + "x", _fmt(r["size_ratio"], 3),
        _fmt(r["memory_ratio"], 3), spread_text(r)] for r in rows]
    return ("table", headers, body)


def _charts(records, ratios, png_dir: Path, prefix: str) -> list[tuple]:
    blocks = []
    settings = sorted({(r["seq_len"], r["threads"] or 0) for r in records})
    multi_threads = len({t for _, t in settings}) > 1
    groups = [f"seq {s}" + (f" x{t}" if multi_threads else "") for s, t in settings]
    series: dict[str, tuple[str, dict]] = {}
    for r in records:
        label = _series_label(r)
        series.setdefault(label, (series_color(r), {}))[1].setdefault((r["seq_len"], r["threads"] or 0), r)
    ordered = sorted(series, key=lambda lab: model_sort_key(next(iter(series[lab][1].values()))))

    def values(fn):
        return [(lab, series[lab][0], [fn(series[lab][1].get(st)) for st in settings]) for lab in ordered]

    lat = grouped_bars(png_dir / f"{prefix}-latency.png", "Latency (p50; mean for benchmark_model)", "ms", groups,
                       values(lambda r: latency_value(r) if r else None))
    blocks.append(("img", lat, "latency by model x precision x seq len"))
    if any(r["peak_memory_bytes"] for r in records):
        mem = grouped_bars(png_dir / f"{prefix}-memory.png", "Peak memory", "MiB", groups,
                           values(lambda r: r["peak_memory_bytes"] / MIB if r and r["peak_memory_bytes"] else None))
        blocks.append(("img", mem, "peak memory"))
    if any(r["model_size_bytes"] for r in records):
        size = grouped_bars(png_dir / f"{prefix}-size.png", "Model file size", "MB", groups,
                            values(lambda r: r["model_size_bytes"] / MB if r and r["model_size_bytes"] else None))
        blocks.append(("img", size, "model size"))
    if ratios:
        keys = sorted({(r["seq_len"], r["threads"]) for r in ratios})
        precs = sorted({(r["runtime"], r["precision"]) for r in ratios}, key=lambda p: (p[0], precision_rank(p[1])))
        colors = ("#d94801", "#fd8d3c", "#fdd0a2", "#7f2704")
        ser = [(f"{p} ({rt})", colors[i % len(colors)],
                [next((r["speedup"] for r in ratios if (r["seq_len"], r["threads"]) == k
                       and (r["runtime"], r["precision"]) == (rt, p)), None) for k in keys])
               for i, (rt, p) in enumerate(precs)]
        sp = grouped_bars(png_dir / f"{prefix}-speedup.png", "DistilBERT/BERT speedup (teacher / student time)", "x",
                          [f"seq {s} x{t}" for s, t in keys], ser, reference=(LAYER_SPEEDUP_CEILING, "6 of 12 layers: 2.0x"))
        blocks.append(("img", sp, "student vs teacher speedup"))
    return blocks


def _runtime_table(records):
    seen = sorted({(r["runtime"]["name"], r["runtime"].get("version") or "–",
                    r["runtime"].get("delegate") or r["runtime"].get("compute_units") or "–",
                    str(r["threads"] or "–")) for r in records})
    return ("table", ["runtime", "version", "delegate / compute units", "threads"], [list(s) for s in seen])


def device_blocks(name: str, records: list[dict], png_dir: Path, all_records: list[dict] | None = None) -> list[tuple]:
    records = sorted(records, key=lambda r: (model_sort_key(r), r["runtime"]["name"], r["seq_len"], r["threads"] or 0))
    dev = records[0]["device"]
    blocks = [("h", 1, f"Device: {name}"),
              ("table", ["kind", "os", "soc", "cpu", "cores", "memory"],
               [[dev["kind"], dev.get("os") or "–", dev.get("soc") or "–", dev.get("cpu") or "–", _fmt(dev.get("cores")),
                 f"{dev['memory_bytes'] / 2**30:.1f} GiB" if dev.get("memory_bytes") else "–"]])]
    if any(r["model"].get("weights") == "random" for r in records):
        blocks.append(("p", "Some models were measured with RANDOM weights (model.weights = \"random\"): their latency, "
                            "size and memory are real, their accuracy means nothing."))
    loads = [r["extra"]["load_average"][0] for r in records if (r.get("extra") or {}).get("load_average")]
    if loads:
        blocks.append(("p", f"1-minute load average during the runs: {min(loads):.2f}–{max(loads):.2f} "
                            f"on {dev.get('cores')} cores (other work on the machine slows every number)."))
    timed = [r for r in records if not accuracy_only(r)]  # latency tables and charts: benchmark records only
    ratios = ratio_rows(timed)
    blocks += [("h", 2, "Runtimes and threads"), _runtime_table(records)]
    paper = paper_rows(timed, {**accuracy_index(all_records or []), **accuracy_index(records)})
    if any(r["role"] in ("teacher", "student") for r in paper):
        blocks += [("h", 2, "Teacher vs student (the paper's table)"), _paper_table(paper),
                   ("p", "Latency per sequence-length bucket (p50; mean for benchmark_model); ratios compare the "
                         "student with the teacher of the same precision and runtime setting. Accuracy comes from "
                         "records that carry one (any device: it belongs to the artifact).")]
        blocks += _scatter(paper, png_dir, slug(name))
    if ratios:
        blocks += [("h", 2, "DistilBERT / BERT"), _ratio_table(ratios)]
    if timed:
        blocks += [("h", 2, "Charts")] + _charts(timed, ratios, png_dir, slug(name))
    blocks += [("h", 2, "All measurements"), _results_table(records),
               ("p", "Latency: p50 over timed runs after warm-up; benchmark_model reports only min/mean/max/std, so "
                     "its rows (and chart bars) use the mean. Peak memory: the benchmark process's peak RSS "
                     "(host: a fresh process per model, including the Python runtime).")]
    return blocks


def summary_blocks(by_device: dict[str, list[dict]], pages: dict[str, str]) -> list[tuple]:
    blocks = [("h", 1, "pocketbert benchmark report"),
              ("p", f"{sum(len(v) for v in by_device.values())} measurements on {len(by_device)} device(s).")]
    rows = []
    for name, recs in by_device.items():
        models = sorted({r["model"]["name"] for r in recs})
        rows.append([f"[{name}]({pages[name]}.html)", recs[0]["device"]["kind"], recs[0]["device"].get("os") or "–",
                     ", ".join(models), len(recs)])
    blocks.append(("table", ["device", "kind", "os", "models", "records"], rows))
    all_ratios = []
    for name, recs in by_device.items():
        all_ratios += [{**r, "device": name} for r in ratio_rows([r for r in recs if not accuracy_only(r)])]
    if all_ratios:
        blocks += [("h", 2, "DistilBERT / BERT on every device"), _ratio_table(all_ratios, with_device=True)]
    return blocks


_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def render_markdown(blocks, base: Path) -> str:
    out = []
    for b in blocks:
        if b[0] == "h":
            out.append("#" * b[1] + " " + b[2])
        elif b[0] == "p":
            out.append(b[1])
        elif b[0] == "table":
            out.append("| " + " | ".join(b[1]) + " |")
            out.append("|" + "---|" * len(b[1]))
            out += ["| " + " | ".join(str(c) for c in row) + " |" for row in b[2]]
        elif b[0] == "img":
            out.append(f"![{b[2]}]({b[1].relative_to(base).as_posix()})")
        out.append("")
    return "\n".join(out).replace(".html)", ".md)")


def _cell(text) -> str:
    escaped = html.escape(str(text))
    return _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', escaped)


def render_html(blocks, title: str) -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
             "body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;margin:1em 0;"
             "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#eee}"
             "td:first-child{text-align:left}img{max-width:100%;display:block;margin:1em 0}</style></head><body>"]
    for b in blocks:
        if b[0] == "h":
            parts.append(f"<h{b[1]}>{html.escape(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            parts.append(f"<p>{html.escape(b[1])}</p>")
        elif b[0] == "table":
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in b[1]) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in b[2]]
            parts.append("</table>")
        elif b[0] == "img":
            data = base64.b64encode(b[1].read_bytes()).decode()
            parts.append(f'<img alt="{html.escape(b[2])}" src="data:image/png;base64,{data}">')
    parts.append("</body></html>")
    return "\n".join(parts)


def only_report_files(out_dir: Path) -> bool:
    """True when `out_dir` holds an earlier report and nothing else: it may be replaced without --force.

    A file the user added (notes, an edited page) is not in the marker's list, so replacing needs --force.
    """
    try:
        listed = set(json.loads((out_dir / MARKER.file).read_text(encoding="utf-8"))["files"]) | {MARKER.file}
    except (OSError, ValueError, KeyError, TypeError):  # no marker, or one from before the list was kept
        return False
    return all(p.relative_to(out_dir).as_posix() in listed for p in out_dir.rglob("*") if not p.is_dir())


def write_report(results_paths, out_dir: Path, force: bool = False) -> Path:
    """Write the report into `out_dir` and return its index.html.

    An earlier report there is replaced when it holds only the report's own files; with user files in it, or
    another command's dir, the --force rule of pocketbert.core.outputs applies.
    """
    from pocketbert.core.atomic import atomic_output_dir
    from pocketbert.core.outputs import check_output_dir

    out_dir = Path(out_dir)
    force = check_output_dir(out_dir, force or (out_dir.is_dir() and only_report_files(out_dir)), MARKER,
                             inputs=results_paths)
    records = read_records([Path(p) for p in results_paths])
    if not records:
        raise PocketbertError("the results files hold no records; run `pocketbert bench …` first")
    by_device: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        by_device[rec["device"]["name"]].append(rec)
    by_device = dict(sorted(by_device.items()))
    pages = {name: f"device-{slug(name)}" for name in by_device}
    with atomic_output_dir(out_dir, force=force) as tmp:
        png_dir = tmp / "png"
        for name, recs in by_device.items():
            blocks = device_blocks(name, recs, png_dir, all_records=records)
            (tmp / f"{pages[name]}.md").write_text(render_markdown(blocks, tmp))
            (tmp / f"{pages[name]}.html").write_text(render_html(blocks, f"pocketbert: {name}"))
        blocks = summary_blocks(by_device, pages)
        (tmp / "index.md").write_text(render_markdown(blocks, tmp))
        (tmp / "index.html").write_text(render_html(blocks, "pocketbert benchmark report"))
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        (tmp / MARKER.file).write_text(json.dumps({"written_by": "pocketbert report", "files": files}, indent=1) + "\n")
    return out_dir / "index.html"
