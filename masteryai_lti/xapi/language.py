"""RFC 5646 language tags, the keys of every xAPI language map (xAPI 1.0.3 Data 4.2).

Pure module: the grammar of RFC 5646 section 2.1 as one regular expression. Only the
syntax is checked; whether a subtag is registered with IANA is not (the spec asks for a
well-formed tag, and the registry changes over time).
"""

from __future__ import annotations

import re
from functools import lru_cache

_ALNUM = "[a-z0-9]"
_LANGUAGE = r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})"
_SCRIPT = r"(?:-[a-z]{4})"
_REGION = r"(?:-(?:[a-z]{2}|[0-9]{3}))"
_VARIANT = rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))"
# A singleton is any single alphanumeric except "x", which introduces private use.
_EXTENSION = rf"(?:-[0-9a-wyz](?:-{_ALNUM}{{2,8}})+)"
_PRIVATE_USE = rf"(?:x(?:-{_ALNUM}{{1,8}})+)"
_GRANDFATHERED = (
    "en-gb-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo"
    "|i-pwn|i-tao|i-tay|i-tsu|sgn-be-fr|sgn-be-nl|sgn-ch-de"
    "|art-lojban|cel-gaulish|no-bok|no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang"
)
_LANGTAG = rf"{_LANGUAGE}{_SCRIPT}?{_REGION}?{_VARIANT}*{_EXTENSION}*(?:-{_PRIVATE_USE})?"
_TAG_RE = re.compile(rf"^(?:{_LANGTAG}|{_PRIVATE_USE}|{_GRANDFATHERED})\Z", re.IGNORECASE)


def is_language_tag(value: object) -> bool:
    """Return True when ``value`` is a well-formed RFC 5646 language tag (case-insensitive)."""
    return isinstance(value, str) and _is_tag(value)


# A few tags ("en-US", "en") make up nearly every language map; skip the regex for them.
@lru_cache(maxsize=1024)
def _is_tag(value: str) -> bool:
    return _TAG_RE.match(value) is not None


def canonical_language_tag(tag: str) -> str:
    """Return a case-folded form of ``tag`` for comparisons (tags are case-insensitive)."""
    return tag.lower()
