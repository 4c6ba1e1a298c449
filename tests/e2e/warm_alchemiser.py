"""A warm `alchemiser` for tests that run many command lines (tests/e2e/test_readme.py).

Each `alchemiser` process spends most of a second or two importing (pandas, exchange_calendars, boto3,
pydantic, ...) and building the NYSE session table before it does anything. This process pays that once,
then runs every command line it is sent in a fork of itself: the child is a fresh process that calls the
console script's own entry point (`alchemiser.cli:main`) with the line's arguments, its stdin /dev/null
and its stdout and stderr in files, and exits with main's code; nothing a command does reaches the next.
Only libraries and the command modules are imported before the fork, never a handler (the local runtime
imports those itself, after setting what they read).

Protocol, one JSON object a line: in {"argv": [...], "cwd": DIR, "stdout": FILE, "stderr": FILE}, out
{"code": N}. Start it with the environment and the interpreter the commands should see.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from datetime import date

LIBRARIES = ("numpy", "pandas", "exchange_calendars", "pydantic", "boto3", "botocore.session", "yaml",
             "aws_lambda_powertools", "alpaca.trading.client", "rich.console", "rich.table", "plotly.graph_objects")


def warm_up() -> None:
    from alchemiser import cli
    from shared.marketdata.calendar import ExchangeCalendar

    for name in LIBRARIES:
        importlib.import_module(name)
    for command in cli.COMMANDS:
        importlib.import_module(cli.module_of(command))
    ExchangeCalendar().session(date(2026, 1, 2))  # the session table, built once per process


def _child(request: dict[str, object]) -> int:
    from alchemiser import cli

    os.chdir(str(request["cwd"]))
    for fd, name, flags in ((0, os.devnull, os.O_RDONLY),
                            (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(str(name), flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = ["alchemiser", *map(str, request["argv"])]  # type: ignore[call-overload]
    try:
        code = cli.main()
    except SystemExit as stop:  # argparse's usage errors, as the console script would exit
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # as the interpreter would: the traceback on stderr, exit 1
        import traceback

        traceback.print_exc()
        code = 1
    return code


def serve() -> None:
    warm_up()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(request)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
