"""Venue settings shared by the functions that talk to a broker (portfolio reads, execution trades) or read its
bars and calendar (strategy): which venue, its keys and endpoints, the market data, the simulated broker's knobs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import SecretStr, model_validator

from shared.runtime.settings import CommonSettings


class BrokerSettings(CommonSettings):
    broker: str | None = None
    """A venue's name (shared/venues/registry.py: 'alpaca', 'sim'). Unset: simulated locally, Alpaca in AWS."""
    alpaca_secret_name: str | None = None
    alpaca_api_key: SecretStr | None = None
    """Local runs only (the CLI passes APCA_API_KEY_ID); in AWS keys come from Secrets Manager."""
    alpaca_secret_key: SecretStr | None = None
    alpaca_trading_url: str | None = None
    alpaca_data_url: str | None = None
    alpaca_data_feed: Literal["iex", "sip"] = "iex"
    market_data: str | None = None
    """'offline', 'alpaca' or a directory of SYMBOL.csv files. Unset: offline locally, alpaca in AWS.
    The strategy reads its bars from it; the simulated broker fills at its as-of day's prices."""
    alpaca_bars_bucket: str | None = None
    """S3 bucket caching Alpaca bars (AWS); locally the cache is under the state directory."""
    sim_starting_cash: Decimal = Decimal("100000")
    sim_slippage_bps: Decimal = Decimal("5")
    sim_non_fractionable: tuple[str, ...] = ()
    sim_faults: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _keys_only_locally(self) -> Self:
        if not self.local and (self.alpaca_api_key or self.alpaca_secret_key):
            raise ValueError(
                "Alpaca keys in environment variables are refused outside local mode; "
                "put them in the Secrets Manager secret (ALCHEMISER_ALPACA_SECRET_NAME)"
            )
        return self

    @property
    def market_data_source(self) -> str:
        return self.market_data or ("offline" if self.local else "alpaca")

    @property
    def broker_kind(self) -> str:
        return self.broker or ("sim" if self.local else "alpaca")
