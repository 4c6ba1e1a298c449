"""Cold import per function, in the built artifacts, with python3.12 (what Lambda runs).

For each function in infra/template.yaml, a fresh `python3.12` times (perf_counter around the
imports, interpreter start-up excluded) two statements on the same paths
(`PYTHONPATH=infra/.aws-sam/build/<Fn>:infra/.aws-sam/build/DependenciesLayer/python:<boto3>`: the
function's code, then the layer of third-party packages, in Lambda's order of /var/task and
/opt/python; boto3 installed for 3.12 under build/, since the Lambda runtime provides it and
neither artifact holds it), with the function's environment from the template:

- the floor: the third-party modules the function cannot avoid — boto3, `from pydantic import
  BaseModel` and Powertools' Logger for all; numpy for the strategy (its indicator math); and
  alpaca-py's clients for the functions whose AWS adapters construct them on every cold
  invocation: the strategy (TradingClient for the calendar, the data client for the day's bars),
  portfolio and execution (TradingClient: account, positions, orders). The orchestrator reaches
  Alpaca only for the P&L report, a rare path, so its floor has no alpaca-py;
- the measured statement: the handler module (the template's `Handler`) plus what its AWS
  adapters import when the first invocation builds them (our adapter modules and the same
  alpaca-py clients as the floor), so that both sides load the same third-party code and the
  ratio is what our own code adds to a cold start.

Runs interleave (floor, measured, floor, ...; alternating which goes first) to cancel drift; the
figure is the median. The same measured statement also runs on a copy of the artifact without
any bytecode (`PYTHONDONTWRITEBYTECODE=1`), to show what shipping compiled .pyc saves.

Tracing (the template's `Tracing=Active`): the same measured statement runs again, in the same
round, with `POWERTOOLS_TRACE_DISABLED=false` and `LAMBDA_TASK_ROOT` set as Lambda sets it, so
the handler builds Powertools Tracer (aws_xray_sdk, and its patching of botocore, requests and
sqlite3: shared/runtime/tracing.py). Its row is that cold path against the untraced one of the
same rounds (the ratio: the median of the rounds' on/off ratios): what turning tracing on costs.
The rows above are with tracing off, the default.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import ROOT, Row, median, ms, ratio

SECTION = "cold import"
TARGET = 1.15
BOTO3_DIR = ROOT / "build" / "bench-boto3"
NOPYC_DIR = ROOT / "build" / "bench-nopyc"
ARTIFACTS = ROOT / "infra" / ".aws-sam" / "build"
LAYER = "DependenciesLayer"
"""The template's layer of third-party packages: on Lambda's path after the function's code (/opt/python)."""


def code_paths(artifact: Path) -> list[Path]:
    """The function's artifact, then the layer's python/ beside it when there is one (as Lambda orders them)."""
    layer = artifact.parent / LAYER / "python"
    return [artifact, layer] if layer.is_dir() else [artifact]

# pydantic's floor defines one trivial model: the first model class loads what any pydantic user
# pays for (pydantic.types, annotated_types, the plugin loader's entry-point scan, the schema
# machinery), which a bare `from pydantic import BaseModel` does not load yet.
PYDANTIC_FLOOR = "from pydantic import BaseModel\nclass _Floor(BaseModel):\n    x: int"
BASE_FLOOR = ("import boto3", PYDANTIC_FLOOR, "from aws_lambda_powertools import Logger")
TRADING_CLIENT = "from alpaca.trading.client import TradingClient"
DATA_CLIENT = "from alpaca.data.historical.stock import StockHistoricalDataClient"
ALPACA_CLIENTS = (TRADING_CLIENT, DATA_CLIENT)
TRACING_ON = {"POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": "/var/task"}
"""A stage with Tracing=Active, as Lambda runs it (outside Lambda, Powertools turns its Tracer off)."""
XRAY = "aws_xray_sdk"
HEAVY = ("alpaca", "pandas")
"""Never loaded by importing a handler module (CONTRIBUTING: heavy imports stay inside the adapters)."""
# Third-party modules each function imports on every (cold) invocation, beyond BASE_FLOOR.
EXTRA_FLOOR: dict[str, tuple[str, ...]] = {
    "strategy": ("import numpy", TRADING_CLIENT, DATA_CLIENT),
    "portfolio": (TRADING_CLIENT,),
    "execution": (TRADING_CLIENT,),
    "orchestrator": (),
}
# Our modules the AWS adapters import lazily when the first invocation builds them
# (services/<name>/dependencies.py in AWS mode: Alpaca broker/calendar/bars, DynamoDB, SNS, SSM).
# Powertools Parameters: the Alpaca secret (shared/venues/alpaca/keys.py) and the kill switch
# (services/execution/kill_switch.py) are read through it on every cold invocation that trades.
PARAMETERS = "aws_lambda_powertools.utilities.parameters"
AWS_COLD_PATH: dict[str, tuple[str, ...]] = {
    "strategy": ("shared.venues.alpaca.trading", "shared.venues.alpaca.calendar", "shared.venues.alpaca.keys",
                 "shared.venues.factory", "shared.venues.alpaca.bars", "shared.marketdata.cache",
                 "aws_lambda_powertools.utilities.idempotency", PARAMETERS),
    "portfolio": ("shared.venues.factory", "shared.venues.alpaca.trading", "shared.venues.alpaca.keys",
                  "aws_lambda_powertools.utilities.idempotency", PARAMETERS),
    "execution": ("shared.venues.factory", "shared.venues.alpaca.trading", "shared.venues.alpaca.keys",
                  "services.execution.dynamodb_workflow_guard", "aws_lambda_powertools.utilities.idempotency",
                  PARAMETERS),
    # A progress event or the stuck check touches only the workflow table; the notifier and its
    # idempotency claims are built on the first notification (a completed or failed workflow).
    "orchestrator": ("services.orchestrator.adapters.dynamodb_workflow_store",),
}


@dataclass(frozen=True)
class FunctionImport:
    logical_id: str
    service: str
    handler_module: str
    environment: dict[str, str]

    @property
    def floor(self) -> tuple[str, ...]:
        return BASE_FLOOR + EXTRA_FLOOR.get(self.service, ())

    @property
    def measured(self) -> tuple[str, ...]:
        adapters = tuple(f"import {m}" for m in AWS_COLD_PATH.get(self.service, ()))
        return (f"import {self.handler_module}", *adapters, *EXTRA_FLOOR.get(self.service, ()))

    @property
    def module_floor(self) -> tuple[str, ...]:
        """The floor without alpaca-py: what the handler module alone is compared with."""
        return BASE_FLOOR + tuple(s for s in EXTRA_FLOOR.get(self.service, ()) if s not in ALPACA_CLIENTS)

    @property
    def floor_label(self) -> str:
        extra = EXTRA_FLOOR.get(self.service, ())
        parts = ["base"] + (["numpy"] if "import numpy" in extra else [])
        clients = [name for stmt, name in ((TRADING_CLIENT, "trading"), (DATA_CLIENT, "data")) if stmt in extra]
        if clients:
            parts.append(f"alpaca-py {' + '.join(clients)} client{'s' if len(clients) > 1 else ''}")
        return " + ".join(parts)


def functions_from_template() -> list[FunctionImport]:
    from alchemiser.local.template import load_template

    found = []
    for spec in load_template().functions.values():
        module = spec.handler.rpartition(".")[0]
        env = dict(spec.environment)
        env.setdefault("POWERTOOLS_SERVICE_NAME", spec.service)
        env.setdefault("AWS_LAMBDA_FUNCTION_NAME", spec.physical_name)
        found.append(FunctionImport(spec.logical_id, spec.service, module, env))
    return found


def timing_code(floor: Sequence[str], rest: Sequence[str] = (), report: Sequence[str] = HEAVY) -> str:
    """A program that imports `floor`, then `rest`, and prints the wall seconds each part took from
    just after interpreter start-up, and which of the `report` packages ended up loaded:
    "<floor> <floor + rest> <loaded,...|->"."""
    return ("import time\n_t0 = time.perf_counter()\n" + "\n".join(floor) + "\n_t1 = time.perf_counter()\n"
            + "\n".join(rest) + "\n_t2 = time.perf_counter()\nimport sys\n"
            + f"_loaded = ','.join(m for m in {tuple(report)!r} if m in sys.modules) or '-'\n"
            + "print(_t1 - _t0, _t2 - _t0, _loaded)\n")


@dataclass(frozen=True)
class Timing:
    floor: float
    total: float
    loaded: tuple[str, ...]
    """Which of the reported (heavy) packages were loaded at the end."""


def run_once(python: str, code: str, paths: Sequence[Path], env: dict[str, str]) -> Timing:
    """Run `code` (from timing_code) in a fresh interpreter on `paths`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    full_env.update(env)
    full_env.update(PYTHONPATH=os.pathsep.join(str(p) for p in paths), PYTHONDONTWRITEBYTECODE="1",
                    AWS_DEFAULT_REGION=full_env.get("AWS_DEFAULT_REGION", "us-east-1"))
    # cwd=/ so that the interpreter's first sys.path entry (the current directory) holds no code
    out = subprocess.run([python, "-s", "-c", code], env=full_env, capture_output=True, text=True,
                         check=False, cwd="/")
    if out.returncode != 0:
        raise RuntimeError(f"import failed ({python}):\n{code}\n{out.stderr[-2000:]}")
    floor, total, loaded = out.stdout.strip().splitlines()[-1].split()
    return Timing(float(floor), float(total), tuple(m for m in loaded.split(",") if m != "-"))


def ensure_boto3(python: str, target: Path = BOTO3_DIR) -> Path:
    """boto3 (the version in requirements/dev.lock) for Python 3.12, compiled by 3.12, as the runtime has it."""
    marker = target / ".bench-installed"
    lock = (ROOT / "requirements" / "dev.lock").read_text()
    if marker.exists() and marker.read_text() == lock:
        return target
    shutil.rmtree(target, ignore_errors=True)
    pip = [str(ROOT / ".venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-compile", "--target", str(target), "--implementation", "cp", "--python-version", "3.12",
           "--platform", "manylinux2014_x86_64", "--only-binary=:all:", "boto3",
           "-c", str(ROOT / "requirements" / "dev.lock")]
    subprocess.run(pip, check=True)
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(target)], check=True)
    marker.write_text(lock)
    return target


def without_bytecode(artifact: Path, dest: Path) -> Path:
    """A copy of the artifact with every .pyc and __pycache__ removed (hard links where possible)."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(artifact, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                    copy_function=link_or_copy)
    return dest


def import_costs(python: str, f: FunctionImport, paths: Sequence[Path], runs: int = 3,
                 top: int = 8) -> tuple[float, list[tuple[str, float]]]:
    """Where the time over the floor goes, by `python -X importtime` (self times, median of `runs`):
    (total ms, [(module, ms)] largest first). Our modules are listed one by one, third-party ones
    by top-level package. importtime's own bookkeeping inflates small modules; read it as shares."""
    marker = "# bench: floor done"
    code = "\n".join(f.floor) + f"\nimport sys\nprint({marker!r}, file=sys.stderr)\n" + "\n".join(f.measured)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(f.environment, PYTHONPATH=os.pathsep.join(str(p) for p in paths), PYTHONDONTWRITEBYTECODE="1")
    per_run: list[dict[str, float]] = []
    for _ in range(runs):
        out = subprocess.run([python, "-s", "-X", "importtime", "-c", code], env=env, capture_output=True,
                             text=True, check=True, cwd="/")
        costs: dict[str, float] = {}
        for line in out.stderr.split(marker, 1)[-1].splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            own, _cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            if not own.isdigit():
                continue
            name = name if name.startswith(("services.", "shared.")) else name.split(".")[0]
            costs[name] = costs.get(name, 0.0) + int(own) / 1000
        per_run.append(costs)
    names = {n for run in per_run for n in run}
    medians = {n: median([run.get(n, 0.0) for run in per_run]) for n in names}
    total = median([sum(run.values()) for run in per_run])
    return total, sorted(medians.items(), key=lambda kv: -kv[1])[:top]


def describe_costs(total: float, costs: Sequence[tuple[str, float]]) -> str:
    listed = ", ".join(f"{name} {value:.1f}" for name, value in costs)
    return f"`-X importtime` over the floor: {total:.0f} ms in all; largest self times (ms): {listed}"


@dataclass
class Samples:
    artifact: Path
    boto3_dir: Path
    floor: list[float] = field(default_factory=list)
    handler: list[float] = field(default_factory=list)
    """floor + the rest of the cold path, in the same interpreter."""
    nopyc: list[float] = field(default_factory=list)
    module_floor: list[float] = field(default_factory=list)
    module: list[float] = field(default_factory=list)
    """module_floor + the handler module alone."""
    heavy: set[str] = field(default_factory=set)
    """Heavy packages the handler module alone loaded (should stay empty)."""
    traced: list[float] = field(default_factory=list)
    """floor + the cold path with tracing on (TRACING_ON), in the rounds that measured `handler`."""
    untraced: list[float] = field(default_factory=list)
    """`handler` of the same rounds as `traced`."""
    xray_when_off: bool = False
    """aws_xray_sdk was loaded by a run with tracing off (it must not be)."""
    xray_when_on: bool = True
    """aws_xray_sdk was loaded by every run with tracing on (the Tracer was built)."""

    @property
    def ratios(self) -> list[float]:
        return [h / f for f, h in zip(self.floor, self.handler, strict=True)]

    @property
    def module_ratios(self) -> list[float]:
        return [h / f for f, h in zip(self.module_floor, self.module, strict=True)]


def measure(python: str, *, artifacts: Path = ARTIFACTS, boto3_dir: Path = BOTO3_DIR, runs: int = 15,
            nopyc_runs: int = 7, nopyc_dir: Path = NOPYC_DIR, traced_runs: int = 0,
            functions: Sequence[FunctionImport] | None = None) -> list[tuple[FunctionImport, Samples]]:
    """Each run is one fresh interpreter per function: the floor's imports, timed, then the handler's
    (which the floor's modules are part of), so floor and handler share the machine's state of the
    moment; functions alternate run by run."""
    functions = list(functions or functions_from_template())
    copies = {f.logical_id: without_bytecode(artifacts / f.logical_id, nopyc_dir / f.logical_id)
              for f in functions} if nopyc_runs else {}
    if nopyc_runs and (artifacts / LAYER).is_dir():
        without_bytecode(artifacts / LAYER, nopyc_dir / LAYER)
    samples = [(f, Samples(artifacts / f.logical_id, boto3_dir)) for f in functions]
    for f in functions:  # warm the page cache: the first run of each reads every file from disk
        run_once(python, timing_code(f.floor, f.measured), [*code_paths(artifacts / f.logical_id), boto3_dir],
                 f.environment)
    try:
        for i in range(max(runs, nopyc_runs)):
            for f, s in samples:
                paths = [*code_paths(artifacts / f.logical_id), boto3_dir]
                if i < runs:
                    traced = None
                    if i < traced_runs and i % 2:  # alternate which of the pair runs first
                        traced = run_once(python, timing_code(f.floor, f.measured, (XRAY,)), paths,
                                          {**f.environment, **TRACING_ON})
                    cold = run_once(python, timing_code(f.floor, f.measured, (*HEAVY, XRAY)), paths, f.environment)
                    if i < traced_runs and not i % 2:
                        traced = run_once(python, timing_code(f.floor, f.measured, (XRAY,)), paths,
                                          {**f.environment, **TRACING_ON})
                    s.floor.append(cold.floor)
                    s.handler.append(cold.total)
                    s.xray_when_off |= XRAY in cold.loaded
                    if traced is not None:
                        s.traced.append(traced.total)
                        s.untraced.append(cold.total)
                        s.xray_when_on &= XRAY in traced.loaded
                    alone = run_once(python, timing_code(f.module_floor, [f"import {f.handler_module}"]), paths,
                                     f.environment)
                    s.module_floor.append(alone.floor)
                    s.module.append(alone.total)
                    s.heavy.update(alone.loaded)
                if i < nopyc_runs:
                    s.nopyc.append(run_once(python, timing_code(f.floor, f.measured),
                                            [*code_paths(copies[f.logical_id]), boto3_dir], f.environment).total)
    finally:
        if nopyc_runs:
            shutil.rmtree(nopyc_dir, ignore_errors=True)
    return samples


def rows_from(samples: Sequence[tuple[FunctionImport, Samples]], python: str | None = None) -> list[Row]:
    """Rows; with `python`, a missed target also gets its -X importtime breakdown as the row's detail."""
    rows = []
    for f, s in samples:
        value = median(s.ratios)
        met = value <= TARGET
        detail = "" if met or python is None else describe_costs(*import_costs(python, f, [*code_paths(s.artifact),
                                                                                           s.boto3_dir]))
        cold_path = " + AWS adapters" if AWS_COLD_PATH.get(f.service) else ""
        rows.append(Row(SECTION, f"{f.service}: handler{cold_path} (median of {len(s.handler)})",
                        ms(median(s.handler)), f"{ms(median(s.floor))} ({f.floor_label})", value,
                        f"≤ {TARGET:g}", met, detail))
    for f, s in samples:
        if s.module:
            heavy = ", ".join(sorted(s.heavy))
            rows.append(Row(SECTION, f"{f.service}: the handler module alone (median of {len(s.module)})",
                            ms(median(s.module)), f"{ms(median(s.module_floor))} (the floor without alpaca-py)",
                            median(s.module_ratios), "no alpaca-py or pandas at import",
                            not s.heavy, f"importing the handler loaded {heavy}" if heavy else ""))
    for f, s in samples:
        if s.traced:
            on, off = median(s.traced), median(s.untraced)
            pairwise = median([t / u for t, u in zip(s.traced, s.untraced, strict=True)])
            ok = s.xray_when_on and not s.xray_when_off
            why = ("" if ok else "aws_xray_sdk loaded with tracing off" if s.xray_when_off
                   else "tracing on did not build the Tracer (aws_xray_sdk not loaded)")
            rows.append(Row(SECTION, f"{f.service}: tracing on, handler + AWS adapters (median of {len(s.traced)})",
                            ms(on), f"{ms(off)} (tracing off, same rounds)", pairwise,
                            "off: no aws_xray_sdk; on: Tracer built", ok, why))
    for f, s in samples:
        if s.nopyc:
            nopyc, with_pyc = median(s.nopyc), median(s.handler)
            rows.append(Row(SECTION, f"{f.service}: the same without bytecode (median of {len(s.nopyc)})",
                            ms(nopyc), f"{ms(with_pyc)} (with .pyc)", ratio(nopyc, with_pyc)))
    return rows


def rows(python: str, *, runs: int = 15, nopyc_runs: int = 7, traced_runs: int = 15,
         **options: object) -> list[Row]:
    ensure_boto3(python)
    return rows_from(measure(python, runs=runs, nopyc_runs=nopyc_runs, traced_runs=traced_runs,  # type: ignore[arg-type]
                             **options), python)
