"""Files a command writes (`--html`, `--png`, `--json FILE`): checked before the work starts, written atomically.

A backtest may take minutes; a typo in an output path must not cost them. `check_outputs` runs first (a
missing folder, a directory, a place nothing can be written to, a missing optional library: a UsageError,
exit 2, before anything is computed). `Outputs` then writes every file to a temporary name beside it and
renames them all only once every one is complete: a failure leaves no half-written file and no half of the
set (the old file, if any, stays as it was).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from alchemiser.commands.common import UsageError

INSTALL_EXTRA = "pip install 'the-alchemiser[cli]' (from a checkout: pip install '.[cli]')"


def check_output(flag: str, path: Path) -> None:
    """UsageError naming the flag and the path when `path` cannot be written (tried by creating a file beside it)."""
    where = f"{flag} {path}"
    if path.is_dir():
        raise UsageError(f"{where}: is a directory; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise UsageError(f"{where}: the folder {parent} does not exist (create it first)")
    if not parent.is_dir():
        raise UsageError(f"{where}: {parent} is not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.", suffix=".check"):
            pass
    except OSError as exc:
        raise UsageError(f"{where}: cannot write in {parent} ({exc.strerror or exc})") from exc
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{where}: the file exists and is read-only")


def require_module(module: str, flag: str) -> None:
    """UsageError when an optional library `flag` needs is not installed (looked up, not imported: fast)."""
    if importlib.util.find_spec(module) is None:
        raise UsageError(f"{flag} needs {module}, an optional dependency: {INSTALL_EXTRA}")


def check_outputs(paths: Iterable[tuple[str, Path | None]], modules: Iterable[tuple[str, str]] = ()) -> None:
    """Every (flag, path) given, and every (flag, module) it needs; the first problem is a UsageError."""
    for flag, module in modules:
        require_module(module, flag)
    seen: dict[Path, str] = {}
    for flag, path in paths:
        if path is None:
            continue
        check_output(flag, path)
        resolved = path.resolve()
        if resolved in seen:
            raise UsageError(f"{seen[resolved]} and {flag} name the same file {path}")
        seen[resolved] = flag


@dataclass
class Outputs:
    """Files written together: each to a temporary name in its own folder, then all renamed into place."""

    written: list[tuple[Path, Path]] = field(default_factory=list)

    def add(self, path: Path, write: Callable[[Path], object]) -> None:
        """`write(temporary path)`; on any error every temporary file is removed and the error raised."""
        handle, name = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.",
                                        suffix=".part")
        os.close(handle)
        scratch = Path(name)
        self.written.append((scratch, path))
        try:
            write(scratch)
        except BaseException:
            self.discard()
            raise

    def add_text(self, path: Path, text: str) -> None:
        self.add(path, lambda scratch: scratch.write_text(text, encoding="utf-8"))

    def commit(self) -> list[Path]:
        """Rename every file into place (each rename is atomic); the final paths."""
        done = []
        for scratch, path in self.written:
            os.chmod(scratch, 0o644 & ~_umask())
            os.replace(scratch, path)
            done.append(path)
        self.written = []
        return done

    def discard(self) -> None:
        for scratch, _ in self.written:
            scratch.unlink(missing_ok=True)
        self.written = []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
