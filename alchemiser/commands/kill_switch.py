"""`alchemiser kill-switch [active|reducing|halted] [--stage STAGE]`: read or set the kill switch.

The switch the execution function reads before every order leg (services/execution/kill_switch.py):
locally the file `<state-dir>/kill-switch`, on a deployed stage the SSM parameter the template names
(`/alchemiser/<stage>/kill-switch`). Setting it prints the previous state as the execution would have
read it (a missing or unreadable switch reads `halted`, failing closed, and says why).

Setting it locally does not take the state-dir lock: halting must work while a run is in progress (the
file is replaced atomically, so a reader sees the old or the new value, never half of one).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from alchemiser.commands.aws import AwsProblem, aws_errors, client
from alchemiser.commands.common import add_state_dir, dumps, fail, stage_arg
from alchemiser.text import say

STATES = ("active", "reducing", "halted")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("state", nargs="?", choices=STATES,
                        help="the state to set: active (trade), reducing (sells only), halted (no orders); "
                             "without it, print the current state")
    parser.add_argument("--stage", type=stage_arg, help="the deployed stage's SSM parameter instead of the local file")
    parser.add_argument("--samconfig", type=Path, metavar="FILE",
                        help="with --stage: the SAM config naming the stage's region (default: infra/samconfig.toml)")
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def parameter_name(stage: str) -> str:
    """The kill-switch SSM parameter's name on `stage`, as infra/template.yaml names it."""
    from alchemiser.local.template import Resolver, load_template

    template = load_template(parameters={"Stage": stage})
    props = template.raw["Resources"]["KillSwitchParameter"]["Properties"]
    return str(Resolver(template.raw, {"Stage": stage}).resolve(props["Name"]))


def local_path(state_dir: Path) -> Path:
    from services.execution.settings import KILL_SWITCH_FILE

    return Path(state_dir) / KILL_SWITCH_FILE


def read_local(state_dir: Path) -> Any:
    from services.execution.file_kill_switch import FileKillSwitch

    return FileKillSwitch(local_path(state_dir)).read()


def read_stage(stage: str, ssm: Any = None) -> Any:
    from services.execution.ssm_kill_switch import SsmKillSwitch

    return SsmKillSwitch(parameter_name(stage), client=ssm or client("ssm", stage)).read()


def _write_local(state_dir: Path, state: str) -> None:
    path = local_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_text(f"{state}\n", encoding="utf-8")
    os.replace(scratch, path)


def _write_stage(stage: str, state: str, ssm: Any) -> None:
    ssm.put_parameter(Name=parameter_name(stage), Value=state, Type="String", Overwrite=True)


def run(args: argparse.Namespace) -> int:
    try:
        if args.stage:
            with aws_errors(args.stage):
                ssm = client("ssm", args.stage, args.samconfig)
                before = read_stage(args.stage, ssm)
                if args.state:
                    _write_stage(args.stage, args.state, ssm)
        else:
            before = read_local(args.state_dir)
            if args.state:
                _write_local(args.state_dir, args.state)
    except AwsProblem as exc:
        return fail(str(exc), code=1)
    where = f"stage {args.stage}" if args.stage else str(args.state_dir)
    if args.json:
        print(dumps({"where": where, "source": before.source, "previous" if args.state else "state": before.state,
                     "detail": before.detail, **({"state": args.state} if args.state else {})}))
    elif args.state:
        note = f" ({before.detail})" if before.detail else ""
        say(f"kill switch {before.state} -> {args.state} ({before.source}){note}")
    else:
        say(before.describe())
    return 0
