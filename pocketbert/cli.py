"""The `pocketbert` command: one click group, commands listed by pipeline stage.

Arrows go one way (CLI -> stages -> core). Each stage module exposes `COMMANDS`; heavy imports (torch,
transformers, converters) happen inside the commands so `pocketbert --help` stays instant.
"""
from __future__ import annotations

import importlib

import click

from pocketbert import __version__
from pocketbert.core.quiet import quiet_third_party

quiet_third_party()  # before any stage imports torch / transformers / converters

# (section title, module exposing COMMANDS) in pipeline order; --help lists commands under these headings.
STAGES: tuple[tuple[str, str], ...] = (
    ("Stage 1 - distill and fine-tune (distill/)", "pocketbert.distill.cli"),
    ("Stage 2 - convert and check parity (convert/)", "pocketbert.convert.cli"),
    ("Try an artifact on this machine (as the apps run it)", "pocketbert.qa_cli"),
    ("Stage 3 - benchmark and report (ondevice_bench/)", "pocketbert.bench.cli"),
    ("Whole pipeline", "pocketbert.pipeline"),
    ("Real QA pair (make qa-models)", "pocketbert.qa_models"),
)
# Orchestrators (they may call several stages) whose commands live in a stage's group: each exposes
# GROUP_COMMANDS = {group name: [commands]}; `bench pair` builds models, converts them and benches them.
GROUP_EXTENSIONS: tuple[str, ...] = ("pocketbert.bench_pair",)


class StagedGroup(click.Group):
    """A click group whose help lists commands per stage instead of one alphabetical list."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sections: list[tuple[str, list[str]]] = []

    def add_stage(self, title: str, commands: list[click.Command]) -> None:
        for cmd in commands:
            self.add_command(cmd)
        self.sections.append((title, [c.name for c in commands]))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for _, names in self.sections for name in names]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, names in self.sections:
            rows = [(n, self.commands[n].get_short_help_str(limit=80)) for n in names]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


@click.group(cls=StagedGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="pocketbert")
def cli() -> None:
    """Distill BERT into DistilBERT, convert it for phones, prove parity, benchmark it.

    Typical run: prepare -> init-student -> distill -> finetune -> convert -> parity -> bench -> report.
    `pocketbert demo` runs all of it offline on the packaged all-MiniLM-L6-v2 teacher.
    """


for _title, _module in STAGES:
    cli.add_stage(_title, list(importlib.import_module(_module).COMMANDS))
for _module in GROUP_EXTENSIONS:
    for _group, _commands in importlib.import_module(_module).GROUP_COMMANDS.items():
        for _cmd in _commands:
            cli.commands[_group].add_command(_cmd)


def main() -> None:
    cli(prog_name="pocketbert")


if __name__ == "__main__":
    main()
