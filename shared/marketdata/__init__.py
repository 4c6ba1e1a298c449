"""Market data and calendar ports with their adapters (Alpaca, cache, offline generator, CSV)."""
