"""Alpaca through alpaca-py: trading and account (trading.py), calendar, daily bars and latest trades (bars.py),
keys (keys.py: Secrets Manager in AWS, the environment locally), the request rate limit, HTTP error mapping."""
