"""Reading JSON that is going to be stored: what Python's parser accepts but a store cannot
keep, found before anything is written and named by its path.

Pure module. Python's ``json`` accepts, and PostgreSQL's ``jsonb`` (or the UTF-8 encoder
in front of it) refuses:

* ``\\u0000`` in a string or a key (``jsonb`` has no NUL character);
* an unpaired UTF-16 surrogate such as ``\\ud800`` (not encodable as UTF-8);
* ``NaN``, ``Infinity``, ``-Infinity`` and numbers such as ``1e400`` that overflow a
  double to infinity (RFC 8259 section 6 has no such numbers);
* nesting deeper than the parser's own stack (``RecursionError``).

Finding the path of a bad value means walking the whole document, which would cost as
much as validating it; ordinary bodies never need it. The parser reports non-finite
numbers through its hooks, and NUL and surrogates can only enter JSON text as ``\\u``
escapes (raw control characters are not JSON, raw surrogates not UTF-8), so one regular
expression over the text says whether a walk is due.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from masteryai_lti.core.storable import unstorable_character

# Nesting that downstream code (comparison, formatting, the validators) may walk
# recursively. A statement's own structure is at most ~10 levels; free-form JSON lives
# in extensions, which the validator limits with ``too_deep``.
MAX_DEPTH = 64
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonInputError(ValueError):
    """The text is not JSON that can be stored; ``path`` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def loads(data: bytes | str, *, root: str | None = None) -> Any:
    """Parse ``data`` (UTF-8 bytes or text), refusing what could not be stored.

    ``root`` names the top-level value in error paths; None reads it as a statements
    body, where an array is ``statements`` (``statements[3].result``) and a single
    statement is unnamed (``result``), as the validator's paths are. Raises
    :class:`JsonInputError`.
    """
    where = root or "body"
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonInputError(where, "must be UTF-8 encoded JSON") from None
    else:
        text = data
    non_finite: list[str] = []

    def constant(name: str) -> float:
        non_finite.append(name)
        return float(name)

    def number(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            non_finite.append(literal)
        return value

    try:
        value = json.loads(text, parse_constant=constant, parse_float=number)
    except RecursionError:
        raise JsonInputError(
            where, "nested too deeply to read (arrays or objects within each other)"
        ) from None
    except json.JSONDecodeError as exc:
        raise JsonInputError(where, f"not valid JSON ({exc.msg} at {exc.pos})") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise JsonInputError(where, f"not valid JSON ({exc})") from None
    if non_finite or _SUSPECT_ESCAPE.search(text):
        found = first_unstorable(value, _root_path(value, root))
        if found is not None:
            raise JsonInputError(*found)
    return value


def _root_path(value: Any, root: str | None) -> str:
    if root is not None:
        return root
    return "statements" if isinstance(value, list) else ""


def shown(text: str) -> str:
    """``text`` with NUL and surrogates escaped, fit to be quoted in a path or message."""
    if "\x00" not in text and text.isascii():
        return text
    text = text.replace("\x00", "\\u0000")
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _child(path: str, key: str) -> str:
    return f"{path}.{shown(key)}" if path else shown(key)


_STRING_PROBLEMS = {
    "nul": "contains the NUL character (\\u0000), which cannot be stored",
    "surrogate": "contains an unpaired UTF-16 surrogate (not a Unicode character)",
}


def _string_problem(text: str) -> str | None:
    found = unstorable_character(text)
    return _STRING_PROBLEMS[found] if found else None


def first_unstorable(value: Any, path: str = "", max_depth: int = MAX_DEPTH):
    """``(path, message)`` of the first value, in document order, that cannot be stored
    or lies deeper than ``max_depth``; None when there is none. Iterative: the value may
    be nested as deeply as the parser allowed."""
    # (value, its path, its depth, the key it is under: checked when it is reached)
    stack: list[tuple[Any, str, int, str | None]] = [(value, path, 0, None)]
    while stack:
        node, where, depth, key = stack.pop()
        if key is not None:
            problem = _string_problem(key)
            if problem:
                return where, f"key {problem}"
        if isinstance(node, str):
            problem = _string_problem(node)
            if problem:
                return where or "body", problem
        elif isinstance(node, float):
            if not math.isfinite(node):
                return where or "body", (
                    "must be a finite number (NaN, Infinity and numbers beyond "
                    "±1.8e308 are not JSON numbers)"
                )
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                return where or "body", f"is nested more than {max_depth} levels deep"
            if isinstance(node, dict):
                children = [(v, _child(where, k), depth + 1, k) for k, v in node.items()]
            else:
                children = [(v, f"{where}[{i}]", depth + 1, None) for i, v in enumerate(node)]
            stack.extend(reversed(children))
    return None


def too_deep(value: Any, max_depth: int) -> bool:
    """Whether ``value`` nests arrays or objects more than ``max_depth`` levels deep."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= max_depth:
                return True
            items = node.values() if isinstance(node, dict) else node
            stack.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
    return False
