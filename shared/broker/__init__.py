"""The broker port and its adapters (Alpaca through alpaca-py; a simulated paper broker)."""
