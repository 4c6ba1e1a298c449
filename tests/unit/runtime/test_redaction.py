"""Keys are masked in what the functions' loggers write, whole or in part (shared/runtime/redaction.py)."""

from __future__ import annotations

import json

from shared.runtime.observability import make_logger
from shared.runtime.redaction import MASK, MIN_FRAGMENT, redact
from shared.venues.alpaca.keys import AlpacaKeys

KEY, SECRET = "PKVQZXRJ8MWTNLKHYB2D", "jRtYvBnMqWzXkLpHgFdSaZxCvBnMqWeRtYuIoPlK"


def test_building_a_key_pair_masks_it_whole_and_any_six_characters_of_it_in_the_log_stream(capsys):
    AlpacaKeys(KEY, SECRET, paper=True)
    logger = make_logger("redaction-test")
    logger.warning(f"refused: {KEY} / {SECRET}",
                   extra={"header": f"APCA-API-SECRET-KEY: {SECRET[5:17]}", "excerpt": f"...{KEY[-9:]}"})
    written = capsys.readouterr().err
    record = json.loads(written.splitlines()[-1])
    assert record["message"] == f"refused: {MASK} / {MASK}"
    for fragment in {k[i:i + MIN_FRAGMENT] for k in (KEY, SECRET) for i in range(len(k) - MIN_FRAGMENT + 1)}:
        assert fragment not in written
    assert record["header"].startswith("APCA-API-SECRET-KEY: ***") and record["excerpt"].startswith("...***")


def test_text_without_a_registered_key_is_left_as_it_is():
    AlpacaKeys(KEY, SECRET, paper=True)
    text = 'http://127.0.0.1:8080 "GET /v2/account HTTP/1.1" 200 608; PKVQZ (five characters) is not a key'
    assert redact(text) == text
