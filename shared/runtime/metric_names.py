"""Every CloudWatch metric the code emits, in one place; the dashboard and alarms use these names.

A test (tests/infra) checks both ways that every metric the template names is listed here and
emitted by the code.
"""

from typing import Final

NAMESPACE: Final = "Alchemiser"

# Envelope middleware (every function)
CIRCUIT_BREAKER_SKIPS: Final = "CircuitBreakerSkips"
INVALID_EVENTS: Final = "InvalidEvents"
HOP_LIMIT_STOPS: Final = "HopLimitStops"
DUPLICATES_SUPPRESSED: Final = "DuplicatesSuppressed"
