"""The simulated paper broker: orders, positions and cash in SQLite under the state directory, filled at the
market data's prices, with injectable faults (faults.py) for drills."""
