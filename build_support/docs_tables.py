"""MkDocs hook: the documentation's reference tables, generated from the code that holds each
fact (settings models, error classes, the model server's flag table, the Makefile), so no
setting, error, flag or target is described by hand in two places. A page asks for one with
`<!-- table: NAME -->`, and for the README with `<!-- include: README.md -->`."""

from __future__ import annotations

import re
from pathlib import Path

MARKER = re.compile(r"<!-- table: ([a-z-]+) -->")


def _cell(value) -> str:
    if value is None or value == "" or value == ():
        return "(unset)"
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _escaped(text: str) -> str:
    """Text for a table cell: its pipes and angle brackets kept as text."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def settings_table(settings_class, skip=()) -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for field in settings_class.model_fields.values():
        if field.alias in skip:
            continue
        rows.append(
            f"| `{field.alias}` | `{_cell(field.default)}` | {_escaped(field.description or '')} |"
        )
    return "\n".join(rows)


def errors_table() -> str:
    from serving.gateway.errors import HTTP_ERRORS, described

    rows = ["| status | code | when |", "|---|---|---|"]
    for status, error in sorted(HTTP_ERRORS.items()):
        rows.append(f"| {status} | `{error.code}` | {_escaped(described(error))} |")
    return "\n".join(rows)


def flags_table() -> str:
    from serving.modelserver.flags import FLAGS

    rows = ["| flag | default | meaning | here |", "|---|---|---|---|"]
    for flag in FLAGS:
        here = f"accepted, no effect: {flag.no_effect}" if flag.no_effect else "implemented"
        rows.append(
            f"| `--{flag.name}` | `{_cell(flag.default)}` | {_escaped(flag.help)} | {here} |"
        )
    return "\n".join(rows)


def make_targets_table() -> str:
    """Each described Makefile target (`target: deps  ## what it does`), as `make help` lists
    them."""
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    rows = ["| target | what it does |", "|---|---|"]
    for target, text in re.findall(r"^([a-z0-9-]+):[^\n]*?## (.+)$", makefile, re.M):
        rows.append(f"| `make {target}` | {_escaped(text)} |")
    return "\n".join(rows)


def make_variables_table() -> str:
    """The Makefile's variables a user may set: `NAME ?= default` under a `# meaning` line (a
    comment after the value would become part of it)."""
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for meaning, name, default in re.findall(r"^# (.+)\n([A-Z_]+) \?=[ \t]*(.*)$", makefile, re.M):
        rows.append(f"| `{name}` | `{_cell(default)}` | {_escaped(meaning)} |")
    return "\n".join(rows)


def _tables() -> dict:
    from serving.gateway.settings import GatewaySettings
    from serving.launcher import LaunchSettings
    from serving.stack import StackSettings

    launch = {field.alias for field in LaunchSettings.model_fields.values()}
    return {
        "gateway-settings": lambda: settings_table(GatewaySettings),
        "launch-settings": lambda: settings_table(LaunchSettings),
        "stack-settings": lambda: settings_table(StackSettings, skip=launch),
        "gateway-errors": errors_table,
        "model-server-flags": flags_table,
        "make-targets": make_targets_table,
        "make-variables": make_variables_table,
    }


def render(markdown: str) -> str:
    """The page with each marker replaced by its table; an unknown name is an error."""
    tables = _tables()

    def table(match: re.Match) -> str:
        name = match.group(1)
        if name not in tables:
            raise ValueError(f"unknown table {name!r}; expected one of {', '.join(tables)}")
        return tables[name]()

    return MARKER.sub(table, markdown)


INCLUDE = re.compile(r"<!-- include: ([\w./-]+) -->")


def included(markdown: str) -> str:
    """`<!-- include: README.md -->`: that file from the repository root, its links into docs/
    made relative to the site (the front page is written once, for GitHub and the site)."""
    root = Path(__file__).parent.parent

    def include(match: re.Match) -> str:
        text = (root / match.group(1)).read_text()
        return text.replace("](docs/", "](")

    return INCLUDE.sub(include, markdown)


def on_page_markdown(markdown, page, config, files):
    return render(included(markdown))
