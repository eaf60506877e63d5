"""README.md and docs/ say only what is true of the code: every `a100m` command they show exists
with the flags it uses, and every relative link (file and #anchor) resolves. No Spark: the
parser is built, not run."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from pipelines.cli import build_parser
from pipelines.quality.suites import load_suites

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_LIMIT = 10_500  # bytes: the front door is read in five minutes

# `a100m` as a word (alone, or after a path: .venv/bin/a100m), then a subcommand-like word.
COMMAND = re.compile(r"(?:^|[\s/(`$])a100m\s+([a-z][a-z-]*)(?=\s|$|`)([^`\n]*)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
# What ends a shell command on a line: a comment, a pipe or redirection, another command.
END_OF_COMMAND = re.compile(r"\s(?:#|&&|\|\||\||>>?|;)\s?")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _code_and_prose(text: str) -> tuple[list[str], list[str]]:
    """The lines inside fenced blocks (a trailing backslash joins the next), and the others."""
    code, prose, fenced, pending = [], [], False, ""
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            prose.append(line)
            continue
        if line.rstrip().endswith("\\"):
            pending += (
                line.rstrip()[:-1].rstrip() if not pending else line.strip()[:-1].strip()
            ) + " "
            continue
        code.append(pending + line.strip() if pending else line)
        pending = ""
    return code, prose


def commands_in(text: str) -> list[tuple[str, list[str], str]]:
    """(subcommand, flags, the text shown) of every a100m command a page shows: each line of a
    fenced block that runs one (prompts, cron lines, synopses), and each inline `code` span
    that starts with one. Output lines such as `a100m sql: ...` (an error message) are not
    commands: a subcommand followed by a colon is skipped by the pattern."""
    code, prose = _code_and_prose(text)
    spans = [s for line in prose for s in re.findall(r"`([^`]+)`", line)]
    found = []
    for shown in code + spans:
        for match in COMMAND.finditer(shown):
            rest = END_OF_COMMAND.split(match.group(2))[0]
            rest = re.sub(r"'[^']*'|\"[^\"]*\"", "''", rest)  # quoted arguments hold no flags
            found.append((match.group(1), FLAG.findall(rest), shown.strip()))
    return found


def test_readme_is_a_front_door():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_LIMIT, f"README.md is {size:,} bytes; move detail to docs/"


def test_every_command_shown_exists_with_its_flags():
    subcommands = _subcommands()
    shown, problems = 0, []
    for page in PAGES:
        for command, flags, text in commands_in(page.read_text()):
            shown += 1
            name = page.relative_to(ROOT)
            parser = subcommands.get(command)
            if parser is None:
                problems.append(f"{name}: a100m {command} is no command ({text})")
                continue
            known = {o for a in parser._actions for o in a.option_strings}
            problems.extend(
                f"{name}: a100m {command} has no flag {flag} ({text})"
                for flag in flags
                if flag not in known
            )
    assert shown > 50, f"only {shown} commands found: the pattern no longer reads the pages"
    assert not problems, "\n".join(problems)


def test_the_command_checker_catches_a_wrong_flag_and_skips_output():
    page = (
        "Run `a100m stats --lake lake --ful`.\n```\n$ a100m sql \"SELECT '--x'\" --lake l  # --not\n"
        "a100m sql: [UNRESOLVED_COLUMN] ...\n0 2 * * * cd /srv && .venv/bin/a100m report \\\n"
        "  --out reports >> log\n```\n"
    )
    assert commands_in(page) == [
        ("sql", ["--lake"], "$ a100m sql \"SELECT '--x'\" --lake l  # --not"),
        ("report", ["--out"], "0 2 * * * cd /srv && .venv/bin/a100m report --out reports >> log"),
        ("stats", ["--lake", "--ful"], "a100m stats --lake lake --ful"),
    ]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"`([^`]*)`", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    code, prose = _code_and_prose(page.read_text())
    return {slug(line.lstrip("#")) for line in prose if re.match(r"#{1,6} ", line)}


def links_in(page: Path) -> list[str]:
    _, prose = _code_and_prose(page.read_text())
    text = "\n".join(prose)
    return re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in links_in(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file.relative_to(ROOT)}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}:\n" + "\n".join(broken)


def test_the_readme_test_command_is_unchanged():
    """.ci/run executes this exact line (tests/test_project.py checks it is the CI's)."""
    assert (
        "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/pytest"
        in (ROOT / "README.md").read_text()
    )


# A validate summary line as the pages show it: "validate run RUN: PASSED; 90 expectations on ...".
EXPECTATION_COUNT = re.compile(r"validate run \S+: (?:PASSED|FAILED); (\d+) expectations on")


def test_every_expectation_count_shown_is_the_suites_count():
    """A run checks every expectation of expectations/ (a no-op run, 0): a page that shows another
    count was copied from an older suite."""
    total = sum(len(suite.data["expectations"]) for suite in load_suites())
    shown = {
        (page.name, int(count))
        for page in PAGES
        for count in EXPECTATION_COUNT.findall(page.read_text())
    }
    assert shown, "no page shows a validate summary line"
    assert {(name, n) for name, n in shown if n not in (0, total)} == set(), total
