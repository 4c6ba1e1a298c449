"""The orchestrator's adapters, each named after what it wraps: the workflow stores (DynamoDB, the
embedded SQLite one for local runs), the notifiers (SNS, webhook, local files) and the portfolio
histories (Alpaca, the stored snapshots). dependencies.py imports each where it is chosen."""
