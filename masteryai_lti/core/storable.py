"""What a database column can hold: the rules every input path checks before storing.

Pure (no Flask, no database), so the REST API's request gate
(:mod:`masteryai_lti.core.api_input`) and the xAPI reader
(:mod:`masteryai_lti.xapi.json_input`) apply the same rule, each wording it for its
own protocol.
"""

from __future__ import annotations

import re

# The widest integer PostgreSQL (bigint) and SQLite store; ids are never larger.
LARGEST_INTEGER = 2**63 - 1
# PostgreSQL text cannot hold U+0000, and UTF-8 cannot encode a lone surrogate (JSON
# can spell both: "\u0000", "\ud800").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_character(text: str) -> str | None:
    """``"nul"`` or ``"surrogate"`` for the first character of ``text`` no column can
    hold, None when every one fits."""
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    return "nul" if match.group() == "\x00" else "surrogate"


def fits_64_bits(digits: str) -> bool:
    """Whether a string of ASCII digits is an integer no larger than a database stores.

    Measured before converting: Python refuses to convert more than 4,300 digits, and a
    number that long must not get as far as a ValueError (a 500).
    """
    return len(digits) <= len(str(LARGEST_INTEGER)) and int(digits) <= LARGEST_INTEGER
