"""Tables, colour and progress for people: colour on a terminal only (none when piped, none with NO_COLOR), JSON
byte for byte machine-readable everywhere, a progress bar with a labelled ETA that ends at 100%."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
from pathlib import Path

from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import ALCHEMISER

COLOUR = re.compile(r"\x1b\[[0-9;]*m")
ESCAPE = re.compile(r"\x1b")


def _on_a_terminal(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the command with stdout and stderr on a pseudo-terminal; what the terminal showed."""
    controller, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update(TERM="xterm-256color", COLUMNS="160", **(env or {}))
    process = subprocess.Popen([ALCHEMISER, *argv], cwd=PROJECT_ROOT, stdout=terminal, stderr=terminal,
                               stdin=subprocess.DEVNULL, env=environment)
    os.close(terminal)
    chunks = []
    while True:
        ready, _, _ = select.select([controller], [], [], 120)
        if not ready:
            process.kill()
            raise AssertionError("no output for 120 s")
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_colour_and_aligned_tables():
    code, shown = _on_a_terminal("signals", "--as-of", "2026-11-25")
    assert code == 0
    assert COLOUR.search(shown)
    plain = COLOUR.sub("", shown)
    assert re.search(r"Symbol +Weight +From", plain) and re.search(r"\n +TQQQ +32\.00% +leveraged-trend", plain)


def test_no_color_and_a_pipe_get_no_escape_code_at_all():
    code, shown = _on_a_terminal("signals", "--as-of", "2026-11-25", env={"NO_COLOR": "1"})
    assert code == 0 and "Symbol" in shown and not COLOUR.search(shown)
    piped = subprocess.run([ALCHEMISER, "signals", "--as-of", "2026-11-25"], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, env={**os.environ, "TERM": "xterm-256color"})
    assert piped.returncode == 0 and "Symbol" in piped.stdout and not ESCAPE.search(piped.stdout + piped.stderr)


def test_json_on_a_coloured_terminal_is_still_plain_json():
    code, shown = _on_a_terminal("signals", "--as-of", "2026-11-25", "--json", env={"FORCE_COLOR": "1"})
    assert code == 0 and not ESCAPE.search(shown)
    assert json.loads(shown)["weights"]["TQQQ"].startswith("0.32")


def test_the_backtest_draws_a_bar_with_a_labelled_eta_and_ends_at_100_percent(tmp_path):
    code, shown = _on_a_terminal("backtest", "--from", "2025-01-02", "--to", "2025-06-30", "--state-dir",
                                 str(tmp_path))
    assert code == 0
    plain = COLOUR.sub("", shown)
    assert "━" in plain and "ETA" in plain and "elapsed" in plain
    assert re.search(r"backtest: 100% done, elapsed [\d.]+s", plain)
    assert "Total return" in plain  # then the summary


def test_without_rich_the_tables_are_aligned_by_hand(tmp_path):
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import importlib.util, sys\n"
        "_find = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name.split('.')[0] == 'rich' else _find(name, *a)\n"
        "class _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'rich':\n"
        "            raise ImportError('rich hidden')\n"
        "sys.meta_path.insert(0, _Hide())\n")
    env = {**os.environ, "PYTHONPATH": f"{hide}:{PROJECT_ROOT}"}
    probe = subprocess.run([str(Path(ALCHEMISER).with_name("python")), "-c",
                            "from alchemiser.console import has_rich; print(has_rich())"],
                           capture_output=True, text=True, env=env, check=True)
    assert probe.stdout.strip() == "False"  # rich is hidden indeed
    done = subprocess.run([ALCHEMISER, "signals", "--as-of", "2026-11-25"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert re.search(r"Symbol +Weight +From", done.stdout) and re.search(r"\n +TQQQ +32\.00% +leveraged", done.stdout)
