"""The backtest: the trading chain's own evaluator, netting, planner and execution rules, day after day.

Never shipped in a Lambda bundle: it runs in the `alchemiser backtest` command and in tests.

    engine.py     each session as the chain runs it (evaluate on D-1's closes, net, plan, fill)
    evaluation.py every session's targets (the strategy function's evaluation, all sessions at once)
    fills.py      the simulated fill model: price, slippage, fee per share, sells before buys
    metrics.py    returns, risk and trading statistics (checked against empyrical in tests)
    report.py     the JSON document and the text summary
    account_compare.py  the paper account beside the backtest (--compare-account)
    formats.py    how percentages, ratios and money read
    tearsheet/    the interactive HTML tearsheet (plotly) and the PNG chart (matplotlib), imported lazily
"""
