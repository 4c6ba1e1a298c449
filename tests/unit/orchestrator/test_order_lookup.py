"""The orchestrator's look-up of the broker's book, locally: the simulated broker, read without moving it."""

from __future__ import annotations

from decimal import Decimal

from services.orchestrator.adapters.broker_order_lookup import order_lookup
from services.orchestrator.settings import OrchestratorSettings
from shared.broker.port import OrderRequest
from shared.venues.simulated.faults import Fault, SimFaults
from tests.fakes.execution_support import NOW, sim_broker


def test_the_local_book_is_the_simulated_brokers_and_settling_reads_never_fill(tmp_path):
    trading = sim_broker(tmp_path, faults=SimFaults(by_symbol={"TLT": Fault("partial", steps=(Decimal("0.5"),
                                                                                               Decimal("1")))}))
    placed = trading.submit_order(OrderRequest("alch-x-TLT-buy-0", "TLT", "buy", notional=Decimal("1000")))
    settings = OrchestratorSettings(backend="local", state_dir=tmp_path, as_of=NOW)
    book = order_lookup(settings)
    before = book.get_order_by_client_id("alch-x-TLT-buy-0")
    assert before is not None and before.broker_order_id == placed.broker_order_id
    again = book.get_order_by_client_id("alch-x-TLT-buy-0")
    assert again.filled_qty == before.filled_qty and not again.is_terminal  # a read moved nothing
    book.cancel_order(placed.broker_order_id)
    assert book.get_order_by_client_id("alch-x-TLT-buy-0").status == "canceled"
    assert book.get_order_by_client_id("alch-nothing") is None
