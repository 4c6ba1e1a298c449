"""`alchemiser completion bash|zsh|tcsh`: a static completion script (shtab), generated from the parser.

    eval "$(alchemiser completion bash)"            # this shell
    alchemiser completion bash > ~/.local/share/bash-completion/completions/alchemiser
    alchemiser completion zsh > "${fpath[1]}/_alchemiser"

Completing a word runs no Python: the script already holds every command and flag.
"""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "tcsh")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=SHELLS, help="the shell to print the script for")


def run(args: argparse.Namespace) -> int:
    import shtab

    from alchemiser.cli import build_parser

    print(shtab.complete(build_parser(), shell=args.shell))
    return 0
