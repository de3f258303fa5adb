"""The validation, comparison and normalisation modules stay pure (DESIGN.md section 2).

The package ``__init__`` imports Flask, so ``sys.modules`` cannot tell; read the imports
of each module's source instead, and follow imports inside ``masteryai_lti``.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

PURE = (
    "masteryai_lti.xapi.validation",
    "masteryai_lti.xapi.comparison",
    "masteryai_lti.xapi.normalisation",
    "masteryai_lti.xapi.timestamps",
    "masteryai_lti.xapi.language",
    "masteryai_lti.xapi.json_input",
    "masteryai_lti.xapi.versions",
    # What a column can hold, shared with the REST API's request gate.
    "masteryai_lti.core.storable",
)


def _imports(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE)
def test_module_imports_only_stdlib_and_pure_siblings(module):
    for name in _imports(module):
        top = name.split(".")[0]
        if top == "masteryai_lti":
            assert name in PURE, f"{module} imports {name}, which is not a pure module"
        else:
            assert top in sys.stdlib_module_names or top == "__future__", (
                f"{module} imports the third-party module {name}"
            )
