"""The Composer symphony language: parser, evaluator, indicators, explanations.

    symphony = parse_file("strategies/trend.clj")       # StrategyError: path:line:col: message
    cache = IndicatorCache()                            # one per run, shared by every strategy
    result = evaluate(symphony, history, cache)         # result.weights, result.render()

Semantics (formulas, windows, units, edge cases): docs/strategy-language.md.
"""

from services.strategy.language.cache import IndicatorCache
from services.strategy.language.errors import StrategyError
from services.strategy.language.evaluator import Evaluation, evaluate
from services.strategy.language.explanation import Explanation
from services.strategy.language.parser import parse_file, parse_text
from services.strategy.language.printer import to_text
from services.strategy.language.symphony import Symphony

__all__ = [
    "Evaluation",
    "Explanation",
    "IndicatorCache",
    "StrategyError",
    "Symphony",
    "evaluate",
    "parse_file",
    "parse_text",
    "to_text",
]
