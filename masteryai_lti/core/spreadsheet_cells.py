"""CSV cells that a spreadsheet will not run as formulas (CSV/formula injection).

Teachers open the tool's CSV exports in Excel or LibreOffice, which treat a cell
starting with ``=``, ``+``, ``-`` or ``@`` (and, in some versions, a tab or carriage
return before one) as a formula: ``=HYPERLINK(...)`` or a DDE call written into a
concept name by another teacher would then run on the reader's machine. OWASP's
advice is followed: such a cell is written with a leading apostrophe, which
spreadsheets show as text. Reading the tool's own CSV back drops that apostrophe
again, so export → edit → import returns the same text.

Pure: strings in and out.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def neutralise(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text, never as a formula."""
    if cell.startswith(FORMULA_STARTS):
        return TEXT_MARK + cell
    return cell


def restore(cell: str) -> str:
    """The text :func:`neutralise` was given, from a cell it wrote (others unchanged)."""
    if cell.startswith(TEXT_MARK) and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell
