"""The notes under the table in docs/benchmarks.md: how each section measures, and for every missed
target why it is missed and what it would take (with the run's own evidence where it has some)."""

from __future__ import annotations

from collections.abc import Sequence

from bench.common import Row

SECTION_NOTES = {
    "cold import": """\
**Cold import.** Python 3.12 (Lambda's runtime) imports from the built artifact
(`PYTHONPATH=infra/.aws-sam/build/<Function>:build/bench-boto3`, the function's environment from the
template). boto3 is not bundled — the runtime provides it — so the version pinned in
`requirements/dev.lock` is installed for 3.12 under `build/bench-boto3/` and compiled by 3.12. Each run
is one fresh interpreter: it times the floor's imports, then the rest of the function's; the ratio is
(floor + rest) / floor within that run, and the table shows medians. Pairing floor and handler in one
process cancels the drift of a shared machine far better than alternating processes.

- *Floor* ("base"): `import boto3`, `from pydantic import BaseModel` plus one trivial model (the first
  model class loads what every pydantic user pays for — `pydantic.types`, `annotated_types`, the plugin
  loader's entry-point scan — which a bare `import` leaves for later), and
  `from aws_lambda_powertools import Logger`. Plus numpy for the strategy (its indicator math), and
  alpaca-py's clients for the functions that build them on every cold invocation in AWS: the strategy
  (TradingClient for the market calendar, the data client for the day's bars), portfolio and execution
  (TradingClient: account, positions, orders). The orchestrator reaches Alpaca only for the P&L report,
  so its floor has no alpaca-py, and its handler must not import it.
- *Measured*: the template's `Handler` module plus what the first invocation imports in AWS when
  `services/<name>/dependencies.py` builds its adapters (the Alpaca broker, calendar and bar cache,
  the credentials loader, Powertools' DynamoDB idempotency layer, the DynamoDB workflow store and
  guard, the SNS notifier) and the same alpaca-py clients as the floor. Adapters are imported lazily
  by the code; counting them keeps the comparison honest (handler import + first adapter construction
  against floor + the clients), and both sides load the same third-party code, so the ratio is what
  our own code adds to a cold start.
- *The handler module alone*: `import services.<name>.handler` against the floor without alpaca-py (in
  its own interpreter). Its target is the rule in CONTRIBUTING.md — importing a handler loads neither
  alpaca-py nor pandas (checked in every run) — and its ratio is what our code costs against the smaller
  floor, for reference: the strategy, portfolio and execution meet 1.15 on their cold path because
  alpaca-py's clients are part of it, not because their own code is smaller than the orchestrator's.
- *Without bytecode*: the same on a copy of the artifact with every `.pyc` and `__pycache__` removed
  (`PYTHONDONTWRITEBYTECODE=1`; boto3, from the runtime, keeps its bytecode): what compiling the bundle
  with python3.12 at build time (the Makefile's `compileall`) saves on every cold start.
- Imported only on their paths (lazily): alpaca-py in the orchestrator (P&L); the offline market-data
  generator, the CSV reader, the exchange calendar, sqlite3 and the embedded store (local runs only);
  the event models a function does not handle (`shared.events` and its route table load a model on
  first use); LambdaEvent in the functions that take no commands; WorkflowFailed in the strategy and
  portfolio (failure path); difflib (strategy error messages).""",
    "bundle size": """\
**Bundle size.** The third-party packages are one layer (`DependenciesLayer`, built by the Makefile's
`build-DependenciesLayer` from the union of `services/*/requirements.txt`) that every function uses, so
each function's artifact holds only our code. Unzipped: the sum of the file sizes in
`infra/.aws-sam/build/<Function>/` plus the layer's (what counts against Lambda's 250 MB limit); zipped:
the same deflated into a zip as `sam deploy` packages it. The "before" upload is an estimate: every
function's code zip plus a copy of the layer's zip each, as when every function bundled its packages. A
function "talks to Alpaca" when its `requirements.txt` lists alpaca-py. All four do today, so the
130 MB target applies to all four — the orchestrator only for its P&L report (Alpaca's portfolio
history), which pulls in alpaca-py with pandas and numpy. The estimate row is the orchestrator's code
plus the installed closure of its other requirements (Powertools, pydantic), from the artifact's
dist-info metadata: reading the portfolio history over plain HTTPS (`urllib`, one GET), or moving the
P&L report to a function of its own, would put the orchestrator under the 20 MB target and keep pandas
out of its P&L cold start. Not changed here: that is a design decision.""",
    "warm latency": """\
**Warm latency.** In process, local mode (`ALCHEMISER_BACKEND=local`, a temporary state dir, the
simulated broker, offline data, the clock at 2026-11-25 09:36 New York), the function's environment
from the template, a fake Lambda context, logs and EMF metrics written to a file as the local runtime
does; one untimed warm-up invocation builds the adapters, then each invocation is timed and must answer
`success`. Strategy: `{"mode": "signal"}`, and `{"mode": "trade"}` with a new correlation id each time (a
real run: calendar, idempotency record, evaluation, two events to the outbox) — a plain repeated trade
answers `duplicate` from the second call on, which is not typical. Portfolio: the sample SignalGenerated
with a new event and correlation id each time (a real plan). Execution: the sample RebalancePlanned with
a new plan and correlation id; the simulated account is reset between invocations, outside the timed
region, so each places the plan's three orders on the account it was made for. Orchestrator: the sample
TradeExecuted with a new correlation id (opens and completes a workflow: snapshot, notification,
WorkflowCompleted). These are the local adapters: the embedded store opens a SQLite connection per
operation, and the orchestrator's previous-snapshot lookup scans every stored snapshot, so its latency
grows with the workflows it holds (about 27 ms at the start to 40 ms after 1,000 in a trial run); in AWS
these are DynamoDB calls instead.

The middleware row wraps a no-op handler (with a Powertools Logger, as the handlers wire it) and feeds it
the sample SignalGenerated envelope, against a bare `SignalGenerated.model_validate(detail)`; alternating
batches, GC on, measured before the handlers (on a clean heap), median per event.""",
    "strategy evaluation": """\
**Strategy evaluation** (`bench/bench_strategy.py`). The shipped strategies (`portfolio.toml`) over 1 and
10 years of daily history with one shared indicator cache, as a run evaluates them; a generated
10,000-line strategy shaped like a real file of that size (`bench/strategy_generator.py`, calibrated on
the 94 public symphonies of issue 23: nesting, filters over groups nested, windows, tickers, inverse
volatility) over 10 years, parse included; best of a few repetitions, each on a fresh cache. Peak memory
by tracemalloc in a separate pass. Data: the offline market generator, whose modelled universe (every
known ETF over 2005-2035, built once per process) has a row of its own: its build from cleared caches,
the exchange calendar loaded apart (it was a timed test). The cold rows run a fresh
interpreter each (imports included): issue 14's corpus of 19 generated files, and issue 23's corpus
shaped like the real files (100 files, ~315k lines, ~900 tickers: `strategy_generator.corpus`), both on
CSV files of the offline prices, evaluated as `alchemiser signals --data DIR` does (`evaluate_signals`).""",
    "planning": """\
**Planning** (`bench/bench_planning.py`). 500 held positions against 500 targets from five strategies
(250 full exits, resizes and new positions; no drift band, so nearly every difference is an order),
Decimal throughout, median of 25 runs of `planner.plan` (plan id included). The second row is the whole
path after the broker reads, with the size of the RebalancePlanned JSON: at this size it is close to
EventBridge's 256 KB limit, past which a plan fails closed as PlanTooLarge.""",
    "local chain": """\
**Local chain.** `alchemiser run --as-of 2026-11-25T09:35:00-05:00 --state-dir <fresh>` (simulated
broker, offline data), spawn to exit (the summary is its last output), against the same day run in
process by `alchemiser.local.day.run_day` once imports are warm: the ratio is what a fresh process
(interpreter, imports, first adapters) costs. The runtime's overhead per hop is the in-process day's
wall time minus the time inside the handlers (each hop's `seconds`), per hop (routing, the archive,
the outbox, copies of each event), against the median time a handler takes per hop.""",
    "backtest": """\
**Backtest** (`bench/bench_backtest.py`). Whole runs over every session of the range, no sampling:
the sessions are evaluated at once on one history by the strategy language's evaluation over days
(`services/strategy/language/days.py`, whose one-day case is what the strategy function runs, so no
session needs a second evaluation unless it cannot be evaluated), then every session is planned by
the portfolio function's planner, checked by its safety check and the execution function's risk
limits (the portfolio's and the execution's steps of the day, with the default limits), and filled
(sells, then buys fitted to the buying power). The times cover evaluation, planning and fills; the
data's generation is setup, outside them. One untimed warm-up run first.
The scaling rows fit time ~ sessions^k over 1, 2, 5 and 10 years; the evaluation runs over the
lookback before the first session as well (clipped by the offline data's start in 2005), so a
strategy with a long lookback costs short ranges more than their share and k falls below 1. Issue
23's rows: the generated file shaped like the largest real one (19,175 lines, filters over groups
nested 4 deep, windows to 600, 509 tickers, 305 inverse-volatility nodes), its peak memory
(tracemalloc over the whole run); 100 real-shaped files each backtested on its own in one process;
and the evaluation's cost fitted as sessions^a x nodes^b over real-shaped files of 1,000, 4,000 and
16,000 lines at 1, 2, 5 and 10 years (least squares on the logs). Their details split evaluation
from planning and fills. The generated strategies trade every session (the rows counting sessions a
default limit blocked say 0): until the defaults were fixed (issue 22) their plans broke
`max_orders_per_run` (100) every day and placed nothing, so earlier figures timed the planner without
a single fill.""",
}

WHY_MISSED = {
    ("strategy evaluation", "cold"): """\
Parsing is pure Python: the fast path (`services/strategy/language/quick.py`) tokenises a file with
one `findall` and builds each node as its list closes, then `Symphony.build` surveys the tree once;
what remains is Python's cost per node object and per list (a real-shaped file has about two lists a
line). Evaluating a day of 100 real-shaped files computes every indicator the trees can read, in one
block per (indicator, windows), and replays every ranked group over the whole history. What it would
take: caching parsed strategies by file content across runs (a Lambda parses its strategies once per
container already), or a compiled reader.""",
    ("backtest", "the largest real file's shape"): """\
The evaluation of the ten years is one pass (see the detail); most of the time is the planning and
fills of every session (the portfolio function's Decimal planner over the ~160 tickers the file holds
each day, and the execution function's checks), which this issue does not change.""",
    ("backtest", "100 real-shaped files"): """\
See the detail: each file's ten years are evaluated in one pass; planning and filling every session
of every file, with the portfolio function's Decimal planner, is most of the time.""",
    ("backtest", "*"): """\
A backtest's time is its evaluation (one pass over all sessions) and the planning and fills of every
session; where the detail splits them, planning is most of it. Machines shared with other work slow
every row alike: compare with the cold CSV read of the strategy section, whose code this work does not
change.""",
    ("cold import", "orchestrator"): """\
The orchestrator has the smallest floor (no numpy, no alpaca-py on its every-invocation path), so its
own code weighs the most. Most of it is pydantic building validators for models it uses on every
invocation: every event it receives and every 15-minute stuck check loads a workflow record
(`services/orchestrator/workflow_record.py`), and the record embeds WorkflowStarted, SignalGenerated,
RebalancePlanned and TradeExecuted; its state machine (`state_machine.py`) and report also import
WorkflowCompleted, WorkflowFailed and ErrorNotificationRequested, which only a terminal transition
builds. Lazy imports cannot remove a model that every invocation validates, and pydantic's
`defer_build` would only move that cost into the first invocation (the same cold start). What it would
take: keep the events inside the record as their JSON and validate them only where the report or the
P&L reads them; dispatch the state machine on `detail_type` so the terminal-path models and the report
load on the terminal transition only; or make the record lighter (dataclasses instead of pydantic
models for the stored form).""",
    ("cold import", "*"): """\
The function's own modules (mostly pydantic models and dataclasses built at import) weigh more than
15 % of its floor. Whatever in them the function's every invocation does not use can be imported on
its own path; what every invocation uses is the function's real cost.""",
    ("warm latency", "middleware"): """\
Beyond validation the middleware opens the envelope, checks the route (known detail-type, consumer,
source), fills the original error event's defaults, checks the hop count, and sets the Logger's
correlation keys inside Powertools' decorator. The 256 KB size check serialises the event, so it
runs only on direct payloads: an envelope came through PutEvents or the Scheduler, which refuse
anything larger. Trimming further would mean dropping the Logger's keys or the defaults copy.""",}


def _why(row: Row) -> str:
    service = row.case.split(":", 1)[0].split(",", 1)[0].strip()
    key = "middleware" if row.case.startswith("middleware") else service
    by_prefix = next((text for (section, prefix), text in WHY_MISSED.items()
                      if section == row.section and prefix != "*" and row.case.startswith(prefix)), None)
    return WHY_MISSED.get((row.section, key)) or by_prefix or WHY_MISSED.get((row.section, "*")) or (
        "No analysis recorded for this miss yet: see the section's note.")


def render(rows: Sequence[Row]) -> str:
    sections = list(dict.fromkeys(row.section for row in rows))
    parts = ["## Notes", ""]
    for section in sections:
        if section in SECTION_NOTES:
            parts += [SECTION_NOTES[section], ""]
    missed = [row for row in rows if row.met is False]
    parts += ["## Targets missed", ""]
    if not missed:
        parts += ["None in this run.", ""]
    for row in missed:
        ratio = f" (ratio {row.ratio:.2f}, target {row.target})" if row.ratio is not None else f" (target {row.target})"
        parts += [f"**{row.section}: {row.case}**{ratio}. " + _why(row).replace("\n", " ")]
        if row.detail:
            parts += ["", f"Evidence from this run: {row.detail}."]
        parts += [""]
    return "\n".join(parts).rstrip() + "\n"
