"""The DAG layout the run and lineage pages draw: layered, no overlaps, every edge forward."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from canalis.server.ui import dag


@st.composite
def dags(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    nodes = [f"s{i}" for i in range(n)]
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=80, unique=True)) if pairs else []
    order = draw(st.permutations(nodes))  # the caller's order is not the topological one
    return order, [(nodes[a], nodes[b]) for a, b in chosen]


def _check(lay, nodes, edges):
    assert set(lay.nodes) == set(nodes)
    for a, b in edges:
        assert lay.layers[a] < lay.layers[b]
        assert lay.nodes[a][0] + dag.NODE_W < lay.nodes[b][0]  # drawn left to right
    for e in lay.edges:  # a long edge passes a free slot in each layer between: no box is under it there
        assert len(e["points"]) == 2 * (lay.layers[e["to"]] - lay.layers[e["from"]])
        for (x1, y1), (x2, y2) in zip(e["points"], e["points"][1:]):
            if y1 == y2 and x2 - x1 == dag.NODE_W:
                assert (x1, y1 - dag.NODE_H / 2) not in set(lay.nodes.values())
        assert e["points"][0][0] == lay.nodes[e["from"]][0] + dag.NODE_W and e["points"][-1][0] == lay.nodes[e["to"]][0]
    boxes = sorted(lay.nodes.values())
    for i, (x, y) in enumerate(boxes):
        assert 0 <= x and x + dag.NODE_W <= lay.width and 0 <= y and y + dag.NODE_H <= lay.height
        for x2, y2 in boxes[i + 1:]:
            assert abs(x - x2) >= dag.NODE_W or abs(y - y2) >= dag.NODE_H, "two boxes overlap"


@settings(max_examples=150, deadline=None)
@given(dags())
def test_layout_is_layered_and_never_overlaps(graph):
    nodes, edges = graph
    _check(dag.layout(nodes, edges), nodes, edges)


def test_two_hundred_steps_lay_out_legibly():
    """A 200-step pipeline (fan-out, chains, fan-in) keeps every box apart and every edge forward."""
    nodes = ["load"] + [f"part{i}" for i in range(60)] + [f"feat{i}" for i in range(60)] + \
        [f"fit{i}" for i in range(60)] + [f"score{i}" for i in range(18)] + ["report"]
    edges = [("load", f"part{i}") for i in range(60)] + [(f"part{i}", f"feat{i}") for i in range(60)]
    edges += [(f"feat{i}", f"fit{i}") for i in range(60)] + [(f"fit{i}", f"score{i % 18}") for i in range(60)]
    edges += [(f"score{i}", "report") for i in range(18)]
    assert len(nodes) == 200
    lay = dag.layout(nodes, edges)
    _check(lay, nodes, edges)
    assert max(lay.layers.values()) == 5  # as many columns as the longest chain, not one per step


def test_a_cycle_is_refused():
    with pytest.raises(ValueError, match="cycle"):
        dag.layout(["a", "b"], [("a", "b"), ("b", "a")])
