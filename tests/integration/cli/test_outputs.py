"""Never lose a finished run: output paths and optional libraries are checked before the work, files written whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alchemiser import cli
from tests.e2e.conftest import alchemiser

SHORT = ("--from", "2025-01-02", "--to", "2025-02-14", "--no-attribution")


def _no_backtest(monkeypatch):
    """The backtest must not start: a check that comes after the work fails these tests."""
    from alchemiser.backtest import engine

    def refuse(*_a, **_k):
        raise AssertionError("the backtest ran before the outputs were checked")

    monkeypatch.setattr(engine, "run_backtest", refuse)


def test_a_missing_folder_is_a_usage_error_before_any_work(tmp_path):
    result = alchemiser("backtest", *SHORT, "--json", "--html", "/nonexistent/x.html")
    assert result.returncode == 2, result.stderr
    assert "--html /nonexistent/x.html: the folder /nonexistent does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert "evaluate:" not in result.stderr and "%" not in result.stderr  # no progress: nothing was computed
    assert result.stdout == ""


def test_one_bad_path_writes_none_of_the_files(tmp_path):
    good, bad = tmp_path / "ok.html", tmp_path / "nodir" / "x.png"
    result = alchemiser("backtest", *SHORT, "--html", str(good), "--png", str(bad))
    assert result.returncode == 2
    assert f"--png {bad}: the folder {bad.parent} does not exist" in result.stderr
    assert not good.exists()


@pytest.mark.parametrize("kind", ["directory", "unwritable", "same file"])
def test_a_directory_an_unwritable_place_or_one_file_twice_is_refused_at_once(kind, tmp_path, monkeypatch, capsys):
    _no_backtest(monkeypatch)
    html = {"directory": tmp_path, "unwritable": Path("/proc/x.html"), "same file": tmp_path / "a.out"}[kind]
    extra = ["--png", str(tmp_path / "a.out")] if kind == "same file" else []
    assert cli.main(["backtest", *SHORT, "--html", str(html), *extra]) == 2
    err = capsys.readouterr().err
    assert {"directory": "is a directory", "unwritable": "cannot write in /proc",
            "same file": "name the same file"}[kind] in err


def test_a_missing_chart_library_is_a_usage_error_before_any_work(tmp_path, monkeypatch, capsys):
    import importlib.util

    _no_backtest(monkeypatch)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert cli.main(["backtest", *SHORT, "--png", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "--png needs matplotlib" in err and "pip install 'the-alchemiser[cli]'" in err


def test_a_failed_write_leaves_no_half_file_and_still_prints_the_results(tmp_path, monkeypatch, capsys):
    from alchemiser.backtest import tearsheet

    html, png = tmp_path / "t.html", tmp_path / "t.png"
    html.write_text("the old tearsheet")

    def half_then_fail(doc, path, **_):
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tearsheet, "write_png", half_then_fail)
    assert cli.main(["backtest", *SHORT, "--html", str(html), "--png", str(png), "--json"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["range"]["to"] == "2025-02-14"  # the run is not lost
    assert "No space left on device" in err
    assert html.read_text() == "the old tearsheet" and not png.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.html"]  # no temporary file left behind


def test_json_to_a_file_is_written_whole(tmp_path, capsys):
    target = tmp_path / "bt.json"
    assert cli.main(["backtest", *SHORT, "--json", str(target)]) == 0
    assert json.loads(target.read_text())["range"]["from"] == "2025-01-02"
    out, err = capsys.readouterr()
    assert out.startswith("Backtest of ") and f"JSON written to {target}" in err  # the summary still shown


def test_pnl_checks_its_tearsheet_path_first(tmp_path):
    result = alchemiser("pnl", "--state-dir", str(tmp_path / "state"), "--html", "/nonexistent/p.html")
    assert result.returncode == 2
    assert "--html /nonexistent/p.html: the folder /nonexistent does not exist" in result.stderr
