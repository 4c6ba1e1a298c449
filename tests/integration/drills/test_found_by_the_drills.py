"""Failures the fault drills found, pinned as deterministic reproductions (each failed before its fix).

A bug still open is marked `xfail(strict=True)`; the day it is fixed the test passes, strict xfail
turns that into a failure, and whoever fixed it removes the marker.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from services.execution import app
from services.execution.legs import build_legs
from shared.broker.port import OrderRequest
from tests.fakes import execution_support as support
from tests.fakes.execution_support import Context, incoming, make_deps, make_plan, seed_positions, sell, sim_broker


class _OtherRunLandsFirst:
    """A broker on which a concurrent run's POST of our sell lands right after our look-up of it:
    just before the holdings are re-read for the sell leg (the second get_positions of the run)."""

    def __init__(self, inner: Any, request: OrderRequest) -> None:
        self.inner, self.request, self.reads = inner, request, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_positions(self) -> Any:
        self.reads += 1
        if self.reads == 2:
            self.inner.submit_order(self.request)
        return self.inner.get_positions()


def test_a_sell_another_run_placed_after_our_look_up_is_adopted_not_reported_rejected(tmp_path: Path) -> None:
    logging.disable(logging.ERROR)
    try:
        broker = sim_broker(tmp_path / "sim")
        seed_positions(broker, {"TLT": "10"})
        plan = make_plan([sell("TLT", "10")], plan_id="plan-race", correlation_id="wf-race")
        (leg,), _ = build_legs(plan, broker.get_latest_prices(["TLT"]), broker.get_account().account_id)
        racing = _OtherRunLandsFirst(broker, OrderRequest(leg.client_order_id, "TLT", "sell", qty=leg.qty))
        deps = make_deps(racing, tmp_path)
        record = getattr(support, "record_plan", None)
        if record is not None:
            record(deps, plan)
        app.handle(incoming(plan), deps, context=Context())
    finally:
        logging.disable(logging.NOTSET)
    (order,) = [o for o in broker.list_orders() if not o.client_order_id.startswith("seed-")]
    report = support.published(deps)[-1]
    (row,) = report.orders
    assert order.status == "filled"  # the broker sold the 10 TLT
    assert row.broker_order_id == order.broker_order_id and row.status == "filled", row
