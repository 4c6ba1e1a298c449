"""The kill switch in local mode: the first line of `<state_dir>/kill-switch` (kill_switch.py)."""

from __future__ import annotations

from pathlib import Path

from services.execution.kill_switch import KillSwitchReading, halted, parse


class FileKillSwitch:
    """Local mode: the first line of a file; a missing file means active."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> KillSwitchReading:
        source = f"file {self.path}"
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return KillSwitchReading("active", source, None)
        except (OSError, UnicodeDecodeError) as exc:
            return halted(source, f"unreadable ({type(exc).__name__}: {exc})")
        lines = text.splitlines()
        return parse(lines[0] if lines else "", source)
