"""Concept graph: DAG enforcement, traversal, JSON/CSV round trips."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masteryai_lti.mastery.graph import (
    Concept,
    ConceptGraph,
    CycleError,
    GraphError,
    find_cycle,
)


def chain(*keys: str) -> ConceptGraph:
    graph = ConceptGraph()
    for k in keys:
        graph.add_concept(Concept(k, k.title()))
    for a, b in zip(keys, keys[1:], strict=False):
        graph.add_prerequisite(b, a)
    return graph


def test_edge_closing_a_cycle_is_refused_and_the_cycle_named():
    graph = chain("a", "b", "c")
    with pytest.raises(CycleError) as info:
        graph.add_prerequisite("a", "c")  # c before a, but a -> b -> c already
    assert info.value.cycle == ["c", "a", "b", "c"]
    assert "c -> a -> b -> c" in str(info.value)
    assert graph.prerequisites["a"] == set()  # unchanged


def test_self_prerequisite_is_a_cycle():
    graph = chain("a")
    with pytest.raises(CycleError) as info:
        graph.add_prerequisite("a", "a")
    assert info.value.cycle == ["a", "a"]


def test_unknown_concept_is_refused():
    graph = chain("a")
    with pytest.raises(GraphError):
        graph.add_prerequisite("a", "zzz")


def test_set_prerequisites_is_atomic():
    graph = chain("a", "b", "c")
    graph.add_concept(Concept("d", "D"))
    with pytest.raises(CycleError):
        graph.set_prerequisites("a", ["d", "c"])
    assert graph.prerequisites["a"] == set()
    graph.set_prerequisites("c", ["d"])
    assert graph.prerequisites["c"] == {"d"}


def test_traversals():
    graph = chain("a", "b", "c")
    graph.add_concept(Concept("x", "X"))
    graph.add_prerequisite("c", "x")
    assert graph.ancestors("c") == {"a", "b", "x"}
    assert graph.descendants("a") == {"b", "c"}
    assert graph.dependants("b") == {"c"}
    order = graph.topological_order()
    assert order.index("a") < order.index("b") < order.index("c")
    assert order.index("x") < order.index("c")
    assert graph.depth() == {"a": 0, "x": 0, "b": 1, "c": 2}


def test_remove_concept_drops_its_edges():
    graph = chain("a", "b", "c")
    graph.remove_concept("b")
    assert graph.prerequisites == {"a": set(), "c": set()}


def test_json_and_csv_round_trip():
    graph = chain("add", "multiply", "fractions")
    graph.add_concept(Concept("divide", "Division", "sharing, with a comma"))
    graph.add_prerequisite("fractions", "divide")
    for text, parse in (
        (graph.to_json(), ConceptGraph.from_json),
        (graph.to_csv(), ConceptGraph.from_csv),
    ):
        back = parse(text)
        assert back.concepts == graph.concepts
        assert back.edges() == graph.edges()
    assert "divide|multiply" in graph.to_csv()


def test_import_refuses_a_cycle_naming_it():
    csv_text = "key,name,prerequisites\na,A,c\nb,B,a\nc,C,b\nd,D,\n"
    with pytest.raises(CycleError) as info:
        ConceptGraph.from_csv(csv_text)
    cycle = info.value.cycle
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}


def test_import_reports_every_problem_with_its_path():
    document = {
        "concepts": [
            {"key": "ok", "name": "Ok", "prerequisites": ["missing"]},
            {"key": "bad key!", "name": "x"},
            {"key": "ok", "name": "dupe"},
        ]
    }
    with pytest.raises(GraphError) as info:
        ConceptGraph.from_dict(document)
    paths = {e["path"] for e in info.value.errors}
    assert paths == {"concepts[0].prerequisites[0]", "concepts[1].key", "concepts[2].key"}


def test_malformed_documents():
    with pytest.raises(GraphError):
        ConceptGraph.from_json("{not json")
    with pytest.raises(GraphError):
        ConceptGraph.from_dict({"nodes": []})
    with pytest.raises(GraphError):
        ConceptGraph.from_csv("name,description\nA,\n")


@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=30))
def test_adding_random_edges_never_leaves_a_cycle(pairs):
    graph = ConceptGraph()
    for i in range(8):
        graph.add_concept(Concept(f"c{i}", f"C{i}"))
    for a, b in pairs:
        try:
            graph.add_prerequisite(f"c{b}", f"c{a}")
        except CycleError as exc:
            # The named cycle is real: each step is an existing edge, plus the refused one.
            cyc = exc.cycle
            assert cyc[0] == cyc[-1]
            assert (cyc[0], cyc[1]) == (f"c{a}", f"c{b}")
            for p, c in zip(cyc[1:], cyc[2:], strict=False):
                assert p in graph.prerequisites[c]
    assert find_cycle(graph.prerequisites) is None
    order = graph.topological_order()
    position = {k: i for i, k in enumerate(order)}
    assert all(position[p] < position[c] for p, c in graph.edges())


def test_merge_may_reference_existing_concepts_and_is_atomic():
    graph = chain("a", "b")
    graph.merge({"concepts": [{"key": "c", "name": "C", "prerequisites": ["b"]}]})
    assert graph.prerequisites["c"] == {"b"}
    with pytest.raises(CycleError):
        graph.merge({"concepts": [{"key": "a", "prerequisites": ["c"]}, {"key": "d"}]})
    assert "d" not in graph.concepts and graph.prerequisites["a"] == set()
    with pytest.raises(GraphError):
        graph.merge({"concepts": [{"key": "e", "prerequisites": ["ghost"]}]})
