"""The paper account beside its backtest (`alchemiser backtest --compare-account`).

The account's recorded equity is rebased to the backtest's: multiplied so that on the first day both
have (the backtest's start when the account already traded then) it equals the backtest's equity.
The gap is then account minus backtest, in dollars, on every day both have. The tearsheet draws it
and the text summary states it, from this one computation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alchemiser.backtest.formats import money


@dataclass(frozen=True)
class AccountComparison:
    days: list[str]
    """The days both the backtest and the account have (ISO dates), in order."""
    backtest: list[float]
    account: list[float]
    """The recorded equity times `factor`."""
    factor: float
    recorded_first: float
    """The account's recorded equity on days[0], before rebasing."""

    @property
    def gap(self) -> list[float]:
        return [a - b for a, b in zip(self.account, self.backtest, strict=True)]

    @property
    def widest(self) -> tuple[str, float]:
        """The day of the largest gap in either direction, and the gap."""
        index = max(range(len(self.days)), key=lambda i: abs(self.gap[i]))
        return self.days[index], self.gap[index]


def compare_account(doc: dict[str, Any]) -> AccountComparison | None:
    """None when the document has no recorded account day among the backtest's sessions."""
    recorded = {row["trade_date"]: float(row["equity"]) for row in doc.get("account_equity") or []}
    backtest = {row["trade_date"]: float(row["equity"]) for row in doc["equity"]}
    days = sorted(set(recorded) & set(backtest))
    if not days:
        return None
    first = recorded[days[0]]
    factor = backtest[days[0]] / first if first > 0 else 1.0
    return AccountComparison(days, [backtest[d] for d in days], [recorded[d] * factor for d in days], factor, first)


def _change(values: list[float]) -> str:
    return f"{(values[-1] / values[0] - 1) * 100:+.2f}%" if values[0] > 0 else "—"


def comparison_lines(doc: dict[str, Any]) -> list[str]:
    """The text summary's paragraph on the paper account (empty without --compare-account)."""
    if "account_equity" not in doc:
        return []
    comparison = compare_account(doc)
    if comparison is None:
        return ["", "Paper account: no recorded equity on the backtest's sessions (run `alchemiser run` days first)"]
    end_gap = comparison.gap[-1]
    widest_day, widest_gap = comparison.widest
    return [
        "",
        f"Paper account (recorded) on {len(comparison.days)} of the backtest's sessions, rebased to the backtest's "
        f"equity on {comparison.days[0]} (recorded ${comparison.recorded_first:,.2f}, times {comparison.factor:.6f}):",
        f"  account {_change(comparison.account)}, backtest {_change(comparison.backtest)} since {comparison.days[0]}; "
        f"gap on {comparison.days[-1]} {money(end_gap, cents=True, signed=True)} "
        f"({end_gap / comparison.backtest[-1] * 100:+.2f}% of the backtest's equity); "
        f"widest gap {money(widest_gap, cents=True, signed=True)} on {widest_day}",
    ]
