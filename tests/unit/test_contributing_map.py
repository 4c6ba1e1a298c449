"""CONTRIBUTING's "Where to add …" names files and tests that exist, so the map cannot rot.

A rename or a move that forgets the map fails here: every backticked path in the section
(`a/b.py`, `a/b.yaml`, `a/b.toml`, `a/b.md`, or a folder `a/b/`) must exist in the repository,
a `path.py::test_name` must name a test defined in that file, and a bare `test_name` one defined
somewhere under tests/.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Where to add"
PATH = re.compile(r"[\w.-]+(?:/[\w.-]+)*(?:\.py|\.yaml|\.toml|\.md|/)")
"""A repository path; placeholders such as `services/<fn>/settings.py` are not paths and are skipped."""


def section(text: str) -> str:
    start = text.index(f"\n{HEADING}")
    end = text.find("\n## ", start + 1)
    return text[start:] if end == -1 else text[start:end]


def named(text: str) -> list[tuple[str, str | None]]:
    """(path, test name or None) for each backticked span of `text` that is a path."""
    found: list[tuple[str, str | None]] = []
    for span in re.findall(r"`([^`\n]+)`", text):
        path, _, test = span.partition("::")
        if PATH.fullmatch(path) and "/" in path:
            found.append((path, test or None))
    return found


def broken(text: str, root: Path) -> list[str]:
    """What the map names that the tree does not have."""
    problems = []
    for path, test in named(section(text)):
        target = root / path
        if not (target.is_dir() if path.endswith("/") else target.is_file()):
            problems.append(f"{path}: no such {'folder' if path.endswith('/') else 'file'}")
        elif test is not None and not re.search(rf"^def {re.escape(test)}\(", target.read_text(), re.MULTILINE):
            problems.append(f"{path}::{test}: no such test")
    tests = "\n".join(f.read_text() for f in (root / "tests").rglob("test_*.py"))
    for test in re.findall(r"`(test_\w+)`", section(text)):
        if not re.search(rf"^def {test}\(", tests, re.MULTILINE):
            problems.append(f"{test}: no such test under tests/")
    return problems


def _contributing() -> str:
    return (ROOT / "CONTRIBUTING.md").read_text()


def test_every_path_and_test_the_map_names_exists() -> None:
    assert broken(_contributing(), ROOT) == []


def test_the_map_names_the_files_of_each_recipe() -> None:
    text = section(_contributing())
    for recipe in ("An indicator", "A strategy-language node type", "An order type", "A notification channel",
                   "A broker", "A CLI command", "A template resource"):
        assert f"**{recipe}**" in text, recipe
    assert len(named(text)) >= 40  # the check above runs on the map, not on an empty section


def test_a_moved_file_or_a_renamed_test_is_caught() -> None:
    text = _contributing()
    assert broken(text.replace("`shared/venues/registry.py`", "`shared/venues/registri.py`"), ROOT) == [
        "shared/venues/registri.py: no such file"]
    assert broken(text.replace("::test_every_indicator_has_a_reference`", "::test_every_indicator_has_a_refrence`"),
                  ROOT) == ["tests/unit/strategy/language/test_indicators.py::test_every_indicator_has_a_refrence: "
                            "no such test"]
    assert broken(text.replace("`test_every_alarm_notifies_the_topic_directly`", "`test_every_alarm_notifies`"),
                  ROOT) == ["test_every_alarm_notifies: no such test under tests/"]
    assert broken(text.replace("`alchemiser/commands/`", "`alchemiser/command/`"), ROOT) == [
        "alchemiser/command/: no such folder"]
