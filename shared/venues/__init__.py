"""Venues: one package per broker the system can trade through, behind the ports in shared/broker/port.py
and shared/marketdata/port.py. `alpaca/` (alpaca-py: trading, account, calendar, bars, latest trades, keys,
rate limit) and `simulated/` (the paper broker on SQLite); `registry.py` names them, `factory.py` builds
what a function's settings ask for. CONTRIBUTING.md "Adding a venue" shows the skeleton of a new one."""
