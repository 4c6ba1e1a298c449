"""The README in order: every shell example, run top to bottom in a fresh copy of the repository, exits the way
the README says (0, or the exit code its comment announces). Only what needs Alpaca keys, AWS or the development
tools themselves is skipped, each for the reason listed in SKIPS.

Frugal: the first command runs through the installed `alchemiser` script, as a newcomer's would; every other
plain `alchemiser ...` line runs in a fork of one warm process (tests/e2e/warm_alchemiser.py: the same entry
point, a fresh process each, without paying the imports two dozen times); anything else runs in bash."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.timeout(900)

SKIPS = (
    (re.compile(r"APCA_API_KEY_ID="), "needs Alpaca paper keys and the network"),
    (re.compile(r"^(cd infra|sam build|sam deploy)\b"), "deploys to AWS (docs/deploy.md; tests/integration/deploy)"),
    (re.compile(r"^make test\b"), "the whole suite: this test is part of it"),
    (re.compile(r"^make (lint|bench)\b|^\.venv/bin/python bench/"),
     "development tools (minutes of CPU); make lint and make test run them"),
)
ANNOUNCED = re.compile(r"\bexits? (\d+)\b")
SHELL_SYNTAX = set("|&;<>()$`\\\"'*?[]{}~=")
VENV_BIN = Path(sys.executable).parent
WARM = Path(__file__).with_name("warm_alchemiser.py")


def shell_examples(readme: str) -> list[tuple[int, str, str]]:
    """(line number, command, its comment) of every line of every ```bash block, in order."""
    found, inside = [], False
    for number, line in enumerate(readme.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            inside = stripped == "```bash" if not inside else False
            continue
        if not inside or not stripped or stripped.startswith("#"):
            continue
        command, *comment = re.split(r"\s+#\s+", stripped, maxsplit=1)
        found.append((number, command.strip(), comment[0].strip() if comment else ""))
    return found


def skip_reason(command: str) -> str | None:
    return next((reason for pattern, reason in SKIPS if pattern.search(command)), None)


def expected_exit(comment: str) -> int:
    announced = ANNOUNCED.search(comment)
    return int(announced.group(1)) if announced else 0


def warm_line(command: str) -> tuple[list[str], str | None] | None:
    """(arguments, the file stdout is redirected to) of a plain `alchemiser ARGS [> FILE]` line, else None."""
    words = command.split()
    target = None
    if len(words) > 2 and words[-2] == ">":
        words, target = words[:-2], words[-1]
    if words[0] != "alchemiser" or any(SHELL_SYNTAX & set(word) for word in words):
        return None
    return shlex.split(" ".join(words[1:])), target


def _make_run_is_alchemiser_run() -> str:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].splitlines()[1].strip()
    assert recipe == "$(BIN)/alchemiser run", recipe  # so `make run` below is `alchemiser run`
    return "alchemiser run"


@dataclass
class Shell:
    """Runs the README's lines in one folder with one environment: bash, or the warm process."""

    cwd: Path
    env: dict[str, str]
    scratch: Path
    warm: subprocess.Popen[str] | None = None
    ran: list[str] = field(default_factory=list)

    def run(self, command: str) -> tuple[int, str]:
        """(exit code, stderr or else stdout) of one README line."""
        self.ran.append(command)
        plain = warm_line(command)
        if plain is None or self.warm is None:
            done = subprocess.run(["bash", "-c", command], cwd=self.cwd, env=self.env, capture_output=True,
                                  text=True, timeout=600)
            return done.returncode, done.stderr or done.stdout
        argv, target = plain
        out, err = self.scratch / "stdout", self.scratch / "stderr"
        request = {"argv": argv, "cwd": str(self.cwd), "stdout": str(self.cwd / target if target else out),
                   "stderr": str(err)}
        assert self.warm.stdin is not None and self.warm.stdout is not None
        self.warm.stdin.write(json.dumps(request) + "\n")
        self.warm.stdin.flush()
        code = int(json.loads(self.warm.stdout.readline())["code"])
        return code, err.read_text() or ("" if target else out.read_text())

    def follow(self, readme: str, *, first_cold: bool = True) -> tuple[list[str], dict[str, str]]:
        """Run every example of `readme` in order: (what went wrong, {skipped command: why})."""
        wrong, skipped = [], {}
        for number, command, comment in shell_examples(readme):
            reason = skip_reason(command)
            if reason is not None:
                skipped[command] = reason
                continue
            line = _make_run_is_alchemiser_run() if command == "make run" else command
            if first_cold and not self.ran:  # the installed script itself, once
                code, said = subprocess.run(["bash", "-c", line], cwd=self.cwd, env=self.env, capture_output=True,
                                            text=True, timeout=600).returncode, ""
                self.ran.append(line)
            else:
                code, said = self.run(line)
            if code != expected_exit(comment):
                wrong.append(f"README.md:{number}: `{command}` exited {code} (the README says "
                             f"{expected_exit(comment)}): {said.strip()[-600:]}")
        return wrong, skipped


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(home), "VIRTUAL_ENV": str(VENV_BIN.parent),
            "LANG": os.environ.get("LANG", "C.UTF-8"), "AWS_CONFIG_FILE": str(home / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "none")}


@pytest.fixture(scope="module")
def warm(environment, tmp_path_factory) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, "-P", str(WARM)], cwd=tmp_path_factory.mktemp("warm"),
                               env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdin is not None
    assert json.loads(process.stdout.readline()) == {"ready": True}
    yield process
    process.stdin.close()
    process.wait(timeout=60)


def _fresh_clone(target: Path) -> Path:
    """The repository's tracked files as they are now (a clone of this working tree), nothing else."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        source = PROJECT_ROOT / name
        if name and source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)
    return target


def test_the_readme_starts_with_the_two_commands_of_a_fresh_machine():
    first = shell_examples((PROJECT_ROOT / "README.md").read_text())[:2]
    assert [(number, command) for number, command, _ in first] == [(4, "make run"), (5, "make test")]


def test_the_readme_runs_top_to_bottom_on_a_fresh_clone(tmp_path, environment, warm):
    clone = _fresh_clone(tmp_path / "clone")
    shell = Shell(clone, environment, tmp_path, warm)
    wrong, skipped = shell.follow((clone / "README.md").read_text())
    assert wrong == [], "\n".join(wrong)
    assert len(shell.ran) >= 20  # the examples were found and run, not skipped
    assert set(skipped.values()) == {reason for _, reason in SKIPS}  # every listed skip is still needed


def test_a_broken_example_fails_it(tmp_path, environment, warm):
    """The README's old second example, right after `make run` traded today: a day before the account's last
    trade is refused (exit 2), and the README promised it would run."""
    readme = ("```bash\nalchemiser run --as-of 2026-11-25 --state-dir s   # a day\n"
              "alchemiser run --as-of 2026-11-24T09:35:00-05:00 --state-dir s   # the day before\n"
              "alchemiser convert nothing.clj > out.clj   # a missing file: exits 0, says this line\n```\n")
    wrong, _ = Shell(tmp_path, environment, tmp_path, warm).follow(readme, first_cold=False)
    assert [line.split(":", 2)[:2] for line in wrong] == [["README.md", "3"], ["README.md", "4"]]
    assert "exited 2 (the README says 0)" in wrong[0] and "backwards in time" in wrong[0]
    assert "nothing.clj" in wrong[1]


def test_the_extraction_reads_commands_and_comments():
    readme = "text\n```bash\nalchemiser run   # a day\n  # a comment\nmake run\n```\n```toml\nx = 1\n```\n"
    assert shell_examples(readme) == [(3, "alchemiser run", "a day"), (5, "make run", "")]
    assert skip_reason("APCA_API_KEY_ID=... alchemiser run --broker alpaca") is not None
    assert skip_reason("alchemiser run") is None
    assert expected_exit("before the open: skipped with the reason, exits 1") == 1
    assert warm_line("alchemiser convert my.clj --to json > my.json") == (["convert", "my.clj", "--to", "json"],
                                                                          "my.json")
    assert warm_line("cp a b") is None and warm_line("X=1 alchemiser run") is None
    assert warm_line('alchemiser run --as-of "$(date)"') is None


def test_the_speed_the_readme_claims_is_the_benchmark_s():
    """'Ten years ... about a second' names the step the bench times, with the bench's own figure."""
    bench = (PROJECT_ROOT / "docs" / "benchmarks.md").read_text()
    row = re.search(r"\| backtest \| 3 shipped strategies, 10 years \(\d+ sessions\): evaluation \+ planning "
                    r"\| ([\d.]+ s) \|", bench)
    assert row is not None, "the bench's row of the shipped portfolio over 10 years"
    readme = " ".join((PROJECT_ROOT / "README.md").read_text().split())
    assert f"docs/benchmarks.md: {row.group(1)}" in readme
    assert "evaluating every session, planning, limits and fills" in readme
