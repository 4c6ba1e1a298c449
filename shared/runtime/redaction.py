"""Secrets never reach a log line, whole or in part.

Every Alpaca key id and secret the functions hold is registered here when its `AlpacaKeys` is
built (shared/venues/alpaca/keys.py: from the stage's secret, or a local run's environment), and the
functions' log stream (shared/runtime/observability.py) masks each one, and every run of
MIN_FRAGMENT or more of its characters: an excerpt of a response, a truncated error, a key cut by a
line break all stay masked. The code does not log keys; this is what keeps a library's DEBUG line
(urllib3's, ours) or a future mistake from doing it. (Random key material only: a value such as a
URL would mask its common fragments, "https:", everywhere.)
"""

from __future__ import annotations

import re
import threading

MIN_FRAGMENT = 6
MASK = "***"

_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def register(*values: str | None) -> None:
    """Mask these values (and their fragments) from now on; values shorter than MIN_FRAGMENT are ignored."""
    global _pattern
    new = {v for v in values if v and len(v) >= MIN_FRAGMENT} - _values
    if not new:
        return
    with _lock:
        _values.update(new)
        _pattern = _compile(_values)


def _compile(values: set[str]) -> re.Pattern[str]:
    fragments = {v[i:i + MIN_FRAGMENT] for v in values for i in range(len(v) - MIN_FRAGMENT + 1)}
    # Whole values first (longest first), so a whole key is masked as one, then any fragment left.
    alternatives = sorted(values, key=len, reverse=True) + sorted(fragments - values)
    return re.compile("|".join(re.escape(a) for a in alternatives))


def redact(text: str) -> str:
    pattern = _pattern
    return text if pattern is None else pattern.sub(MASK, text)


def forget() -> None:
    """Mask nothing again (tests: each starts with no key registered; a container never forgets a key it read)."""
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None
