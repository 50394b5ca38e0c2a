"""The allowed import arrows (CONTRACTS.md, ARCHITECTURE): CLI / orchestrators -> stages -> core, nothing else.

Stages talk through files, so a stage importing another stage (or core importing a stage) is a design bug even
when it works; so is an import cycle, which function-local imports hide from Python but not from this test.
Every module is parsed with `ast` (nothing is imported) and every import counts, module-level or inside a function.
"""
from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STAGES = ("pocketbert.distill", "pocketbert.convert", "pocketbert.bench")
CORE = "pocketbert.core"


def package_dirs() -> dict[str, Path]:
    """Package name -> source dir, as pyproject's package-dir maps them (stages live in top-level folders)."""
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {pkg: REPO / d for pkg, d in cfg["package-dir"].items() if pkg in cfg["packages"]}


def modules() -> dict[str, Path]:
    """Dotted name -> file of every pocketbert module (core is nested in pocketbert/, stages are mapped dirs)."""
    dirs = package_dirs()
    dirs.setdefault(CORE, dirs["pocketbert"] / "core")
    out = {}
    for pkg, d in dirs.items():
        for p in sorted(d.glob("*.py")):
            out[".".join([pkg] + ([] if p.stem == "__init__" else [p.stem]))] = p
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> pocketbert modules it imports (absolute and relative; a package import means its __init__)."""
    mods = modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        package = name if path.stem == "__init__" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                # `from pkg import mod` imports pkg.mod when that is a module
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    graph[name].add(t)
    return graph


def layer(module: str) -> str:
    """root (pocketbert/__init__: the version) | core | <stage> | top (CLI, orchestrators: pipeline, bench_pair...)."""
    if module == "pocketbert":
        return "root"
    if module == CORE or module.startswith(CORE + "."):
        return "core"
    return next((s for s in STAGES if module == s or module.startswith(s + ".")), "top")


def wrong_arrows(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    bad = []
    for a, targets in graph.items():
        for b in targets:
            la, lb = layer(a), layer(b)
            if lb == "root":
                continue  # `from pocketbert import __version__` is fine anywhere
            if la == "core" and lb != "core":
                bad.append((a, b))  # core imports no stage and no orchestrator
            elif la in STAGES and lb not in ("core", la):
                bad.append((a, b))  # a stage imports only itself and core
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, seen = [], set()

    def visit(u: str, stack: list[str]) -> None:
        seen.add(u)
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if v in stack:
                found.append(stack[stack.index(v):] + [v])
            elif v not in seen:
                visit(v, stack)
        stack.pop()

    for m in sorted(graph):
        if m not in seen:
            visit(m, [])
    return found


def test_every_stage_and_core_is_scanned():
    mods = modules()
    for pkg in (CORE, *STAGES):
        assert sum(m.startswith(pkg + ".") for m in mods) >= 3, pkg
    assert "pocketbert.bench_pair" in mods and "pocketbert.pipeline" in mods


def test_arrows_go_cli_to_stages_to_core():
    bad = wrong_arrows(import_graph())
    assert not bad, "imports against the arrows (move the shared piece into pocketbert.core, or the caller beside " \
                    "pipeline.py):\n" + "\n".join(f"{a} -> {b}" for a, b in bad)


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("source, expect", [
    ("from pocketbert.convert.api import convert_model", [("pocketbert.bench.x", "pocketbert.convert.api")]),
    ("def f():\n    from pocketbert.distill import trainer", [("pocketbert.bench.x", "pocketbert.distill.trainer")]),
    ("from pocketbert.core.registry import TASKS", []),
])
def test_checker_sees_function_level_stage_imports(tmp_path, monkeypatch, source, expect):
    """The checker itself: an injected bench module importing convert (even inside a function) is caught."""
    real = modules()
    fake = tmp_path / "x.py"
    fake.write_text(source + "\n")
    monkeypatch.setitem(globals(), "modules", lambda: {**real, "pocketbert.bench.x": fake})
    graph = import_graph()
    assert [e for e in wrong_arrows(graph) if e[0] == "pocketbert.bench.x"] == expect


# Plugin modules named by string in the registry (core/registry.FormatRecord): the core may name a stage module but
# not import it, so each string must name a module of the layer that imports it: the export module is loaded by
# convert (convert/api._export), the backend by core.runtime (open_model). importlib hides these imports from the
# graph above, so this test checks them instead.
PLUGIN_LAYERS = {"export": "pocketbert.convert", "backend": CORE}


@pytest.mark.parametrize("field", sorted(PLUGIN_LAYERS))
def test_registry_plugin_strings_name_a_module_of_the_loading_layer(field):
    from pocketbert.core.registry import FORMATS

    mods = modules()
    for fmt in FORMATS.values():
        module, _, attr = getattr(fmt, field).partition(":")
        assert layer(module) == layer(PLUGIN_LAYERS[field]), f"{fmt.name}.{field} = {module}: wrong layer"
        assert module in mods, f"{fmt.name}.{field}: no module {module}"
        tree = ast.parse(mods[module].read_text())
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert attr in defined, f"{fmt.name}.{field}: {module} defines no {attr}"
