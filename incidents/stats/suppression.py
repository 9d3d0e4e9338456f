"""Small-cell suppression of published counts: primary and secondary. Pure: no Flask, no SQL.

A published table is a set of counts (its cells and totals) tied by additive relations: each
relation says that one count (a total) is the sum of others (its parts). A matrix with row
and column totals has one relation per row, one per column, and two for the grand total
(the sum of the row totals, the sum of the column totals); a single column with its total
has one. Every count takes part in at most two relations.

Primary suppression hides every count from 1 to k-1. Secondary suppression then hides more
counts until no hidden count can be worked out from the visible ones: seen as a graph whose
nodes are the relations (plus one free node for counts in a single relation) and whose
edges are the counts, the hidden counts that the published ones leave open are exactly
those on a cycle of hidden edges (adding 1 and taking 1 alternately around the cycle keeps
every relation true). A hidden count on no cycle (a bridge) is determined: it gets company
along the cheapest path of visible non-zero counts that closes a cycle through it, totals
costing more than cells, so that cells are hidden rather than totals. Every hidden count is
then at least 1, so that alternative (and the cycle's opposite) stays non-negative: each
hidden count has at least two completions consistent with everything published.

Zeros are never hidden: a published 0 says "none", which protects nobody's privacy.
"""

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

# A total is hidden only when no cell can do (the page's totals stay as they are).
_TOTAL_PENALTY = 1_000_000


@dataclass(frozen=True)
class Relation:
    """values[whole] == sum(values[part] for part in parts)."""

    whole: int
    parts: tuple[int, ...]


def suppress(
    values: Sequence[int],
    relations: Sequence[Relation],
    threshold: int,
    *,
    keep: frozenset[int] = frozenset(),
) -> list[bool]:
    """Which of values to hide: every count from 1 to threshold-1, and enough others that
    no hidden count can be recovered through the relations.

    keep names counts that must not be hidden unless they are small themselves (a total
    other tables publish too): the secondary suppression goes round them.
    """
    if threshold < 1:
        raise ValueError("the suppression threshold must be at least 1 (1: nothing hidden)")
    if any(value < 0 for value in values):
        raise ValueError("counts are never negative")
    for relation in relations:
        if values[relation.whole] != sum(values[part] for part in relation.parts):
            raise ValueError("a total is not the sum of its parts")
    ends: list[list[int]] = [[] for _ in values]
    for node, relation in enumerate(relations):
        for index in (relation.whole, *relation.parts):
            ends[index].append(node)
    if any(len(nodes) > 2 for nodes in ends):
        raise ValueError("a count may take part in at most two relations")
    free = len(relations)  # the node of counts that take part in one relation only
    edges = {
        index: (nodes[0], nodes[1] if len(nodes) == 2 else free)
        for index, nodes in enumerate(ends)
        if nodes
    }
    wholes = {relation.whole for relation in relations}
    hidden = [0 < value < threshold for value in values]

    def cost(index: int) -> int | None:
        """What hiding one more count costs; None: it may not be hidden."""
        if hidden[index]:
            return 0
        if values[index] == 0 or index in keep:
            return None
        return values[index] + (_TOTAL_PENALTY if index in wholes else 0)

    while (bridge := _a_bridge(edges, hidden)) is not None:
        path = _cheapest_path(edges, bridge, cost)
        if path is None:  # impossible for consistent non-negative counts (see the test)
            raise ValueError("no secondary suppression protects this table")
        for index in path:
            hidden[index] = True
    return hidden


def _a_bridge(edges: dict[int, tuple[int, int]], hidden: list[bool]) -> int | None:
    """A hidden count on no cycle of hidden counts, if there is one."""
    hidden_edges = [index for index in edges if hidden[index]]
    for index in hidden_edges:
        start, goal = edges[index]
        if start == goal:  # a count in one relation only, alone: can't happen with free
            continue
        seen, frontier = {start}, [start]
        while frontier:
            node = frontier.pop()
            for other in hidden_edges:
                if other == index:
                    continue
                a, b = edges[other]
                for here, there in ((a, b), (b, a)):
                    if here == node and there not in seen:
                        seen.add(there)
                        frontier.append(there)
        if goal not in seen:
            return index
    return None


def _cheapest_path(edges, bridge: int, cost) -> list[int] | None:
    """The counts of the cheapest path between the bridge's ends, avoiding the bridge."""
    start, goal = edges[bridge]
    best = {start: 0}
    came_from: dict[int, tuple[int, int]] = {}
    queue = [(0, start)]
    while queue:
        spent, node = heapq.heappop(queue)
        if node == goal:
            path = []
            while node != start:
                node, index = came_from[node]
                path.append(index)
            return path
        if spent > best.get(node, spent):
            continue
        for index, (a, b) in sorted(edges.items()):
            if index == bridge or node not in (a, b):
                continue
            price = cost(index)
            if price is None:
                continue
            there = b if node == a else a
            if spent + price < best.get(there, spent + price + 1):
                best[there] = spent + price
                came_from[there] = (node, index)
                heapq.heappush(queue, (spent + price, there))
    return None


@dataclass(frozen=True)
class MatrixSuppression:
    """What to hide in a matrix published with its row totals, column totals and total."""

    cells: list[list[bool]]
    row_totals: list[bool]
    column_totals: list[bool]
    total: bool


def matrix_layout(counts: Sequence[Sequence[int]]) -> tuple[list[int], list[Relation]]:
    """The values and relations of a matrix with its margins, in the order
    cells (row by row), row totals, column totals, grand total."""
    height, width = len(counts), len(counts[0]) if counts else 0
    cells = [value for row in counts for value in row]
    row_totals = [sum(row) for row in counts]
    column_totals = [sum(row[j] for row in counts) for j in range(width)]
    values = [*cells, *row_totals, *column_totals, sum(row_totals)]
    first_row_total, first_column_total = height * width, height * width + height
    grand = len(values) - 1
    relations = [
        Relation(first_row_total + i, tuple(i * width + j for j in range(width)))
        for i in range(height)
    ]
    relations += [
        Relation(first_column_total + j, tuple(i * width + j for i in range(height)))
        for j in range(width)
    ]
    relations.append(Relation(grand, tuple(range(first_row_total, first_column_total))))
    relations.append(Relation(grand, tuple(range(first_column_total, grand))))
    return values, relations


def suppress_matrix(
    counts: Sequence[Sequence[int]], threshold: int, *, keep_total: bool = True
) -> MatrixSuppression:
    """Suppress a matrix published with row totals, column totals and the grand total."""
    height, width = len(counts), len(counts[0]) if counts else 0
    values, relations = matrix_layout(counts)
    grand = len(values) - 1
    hidden = suppress(
        values, relations, threshold, keep=frozenset({grand}) if keep_total else frozenset()
    )
    cells = height * width
    return MatrixSuppression(
        cells=[hidden[i * width : (i + 1) * width] for i in range(height)],
        row_totals=hidden[cells : cells + height],
        column_totals=hidden[cells + height : grand],
        total=hidden[grand],
    )


def suppress_column(
    counts: Sequence[int], threshold: int, *, with_total: bool, keep_total: bool = True
) -> tuple[list[bool], bool]:
    """Suppress one column of counts, published with its total (the counts partition it)
    or without (they overlap, as kinds of one case do: primary suppression only)."""
    if not with_total:
        return suppress(list(counts), [], threshold), False
    values = [*counts, sum(counts)]
    total = len(values) - 1
    hidden = suppress(
        values,
        [Relation(total, tuple(range(total)))],
        threshold,
        keep=frozenset({total}) if keep_total else frozenset(),
    )
    return hidden[:total], hidden[total]
