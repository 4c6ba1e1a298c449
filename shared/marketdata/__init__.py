"""Market data and calendar ports with their adapters (cache, offline generator, CSV files).
Alpaca's bars are its venue's: shared/venues/alpaca/bars.py."""
