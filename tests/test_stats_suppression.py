"""Secondary suppression: no hidden count can be recovered from what is published.

The check is independent of the algorithm (which reasons on cycles of a graph): for each
hidden count it solves the published relations by exact linear algebra (fractions) and
builds a second completion: the true values plus a small multiple of a vector of the
relations' null space that moves that count. Every hidden count being at least 1, the
completion stays non-negative; it satisfies every relation and agrees with every visible
count. The relations of a table with margins form a network (totally unimodular) matrix,
so the smallest and largest values a hidden count can take over the non-negative
completions are integers, attained by integer completions: two different real values
mean two different integer completions too.
"""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.stats.suppression import (
    Relation,
    matrix_layout,
    suppress,
    suppress_column,
    suppress_matrix,
)


def _null_space(rows: list[list[Fraction]], width: int) -> list[list[Fraction]]:
    """A basis of {z : rows @ z == 0} (reduced row echelon form)."""
    matrix = [row[:] for row in rows]
    pivots, rank = [], 0
    for column in range(width):
        pivot = next((r for r in range(rank, len(matrix)) if matrix[r][column] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        lead = matrix[rank][column]
        matrix[rank] = [value / lead for value in matrix[rank]]
        for r in range(len(matrix)):
            if r != rank and matrix[r][column] != 0:
                factor = matrix[r][column]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[rank], strict=True)]
        pivots.append(column)
        rank += 1
    basis = []
    for free in (c for c in range(width) if c not in pivots):
        vector = [Fraction(0)] * width
        vector[free] = Fraction(1)
        for row, pivot in enumerate(pivots):
            vector[pivot] = -matrix[row][free]
        basis.append(vector)
    return basis


def assert_protected(values, relations, hidden, threshold):
    """Every small count hidden, no zero hidden, and every hidden count undetermined."""
    for value, flag in zip(values, hidden, strict=True):
        if 0 < value < threshold:
            assert flag, "a count from 1 to k-1 is shown"
        if value == 0:
            assert not flag, "a zero is hidden"
    unknown = [i for i, flag in enumerate(hidden) if flag]
    assert all(values[i] >= 1 for i in unknown)
    # The relations restricted to the hidden counts (the visible ones are known).
    rows = []
    for relation in relations:
        row = [Fraction(0)] * len(unknown)
        for position, index in enumerate(unknown):
            if index == relation.whole:
                row[position] -= 1
            if index in relation.parts:
                row[position] += 1
        rows.append(row)
    basis = _null_space(rows, len(unknown))
    for position, index in enumerate(unknown):
        moving = next((z for z in basis if z[position] != 0), None)
        assert moving is not None, f"hidden count {index} is determined by the published ones"
        step = Fraction(1) / max(abs(value) for value in moving)
        other = [Fraction(value) for value in values]
        for p, i in enumerate(unknown):
            other[i] += step * moving[p]
        assert other[index] != values[index]
        assert all(value >= 0 for value in other)
        for i, flag in enumerate(hidden):
            if not flag:
                assert other[i] == values[i]
        for relation in relations:
            assert other[relation.whole] == sum(other[part] for part in relation.parts)
    # In particular no relation (row, column) has exactly one hidden count.
    for relation in relations:
        members = (relation.whole, *relation.parts)
        assert sum(hidden[i] for i in members) != 1


small_or_large = st.one_of(st.integers(0, 4), st.integers(0, 30))


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda width: st.lists(
            st.lists(small_or_large, min_size=width, max_size=width), min_size=1, max_size=4
        )
    ),
    st.integers(2, 10),
)
def test_a_matrix_with_its_margins_hides_nothing_recoverable(counts, threshold):
    values, relations = matrix_layout(counts)
    result = suppress_matrix(counts, threshold)
    hidden = [
        *(flag for row in result.cells for flag in row),
        *result.row_totals,
        *result.column_totals,
        result.total,
    ]
    assert_protected(values, relations, hidden, threshold)
    # The grand total, which every table of the page shares, is hidden only when small.
    assert result.total == (0 < values[-1] < threshold)


@settings(max_examples=60, deadline=None)
@given(st.lists(small_or_large, min_size=1, max_size=8), st.integers(2, 10))
def test_a_column_with_its_total_hides_nothing_recoverable(counts, threshold):
    cells, total = suppress_column(counts, threshold, with_total=True)
    values = [*counts, sum(counts)]
    relations = [Relation(len(counts), tuple(range(len(counts))))]
    assert_protected(values, relations, [*cells, total], threshold)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(small_or_large, min_size=2, max_size=5),
    st.lists(small_or_large, min_size=1, max_size=4),
    st.lists(small_or_large, min_size=0, max_size=3),
    st.integers(2, 10),
)
def test_tables_sharing_counts_hide_nothing_recoverable(statuses, reasons, bands, threshold):
    # As in stats.service: the status table's "closed" (its last count) is the handled
    # table's total, and its "new" (its first) is the acknowledgement table's "not yet"
    # (that table's first count); both tables have the same total.
    statuses = [*statuses[:-1], sum(reasons)]
    rest = sum(statuses) - statuses[0]
    bands = (
        [statuses[0], *bands[:-1], rest - sum(bands[:-1])]
        if rest >= sum(bands[:-1])
        else [
            statuses[0],
            rest,
        ]
    )
    values = [*statuses, sum(statuses), *reasons, *bands, sum(bands)]
    total, first_reason = len(statuses), len(statuses) + 1
    first_band = first_reason + len(reasons)
    band_total = len(values) - 1
    relations = [
        Relation(total, tuple(range(total))),
        Relation(total - 1, tuple(range(first_reason, first_band))),
        Relation(band_total, tuple(range(first_band, band_total))),
        Relation(first_band, (0,)),
    ]
    hidden = suppress(values, relations, threshold, keep=frozenset({total, band_total}))
    assert_protected(values, relations, hidden, threshold)
    assert hidden[0] == hidden[first_band]  # one number, one state


def test_overlapping_rows_get_primary_suppression_only():
    cells, total = suppress_column([0, 1, 4, 5, 9], 5, with_total=False)
    assert cells == [False, True, True, False, False] and total is False


@pytest.mark.parametrize(
    ("counts", "cells", "total"),
    [
        ([7, 3, 0], [True, True, False], False),  # 3 = 10 - 7 would give it away
        ([7, 3, 2], [False, True, True], False),
        ([7, 9, 0], [False, False, False], False),
        ([3, 0, 0], [True, False, False], True),  # the total is 3 itself: hidden too
        ([1, 1], [True, True], True),
    ],
)
def test_a_column_hand_checked(counts, cells, total):
    assert suppress_column(counts, 5, with_total=True) == (cells, total)


def test_hidden_totals_are_handled():
    # Row 0 totals 3: hidden (primary), its cells 1 and 2 too. The cells get company in
    # row 1, or a column total would give them away; and row 1's total 20 is hidden,
    # or 3 = 23 - 20 would give the hidden row total away. The grand total stays.
    counts = [[1, 2], [10, 10]]
    result = suppress_matrix(counts, 5)
    assert result.row_totals == [True, True]
    assert result.cells[0] == [True, True]
    assert result.cells[1] == [True, True]
    assert result.column_totals == [False, False] and result.total is False
    values, relations = matrix_layout(counts)
    hidden = [*result.cells[0], *result.cells[1], *result.row_totals, *result.column_totals]
    assert_protected(values, relations, [*hidden, result.total], 5)
    # A total that must stay (keep) but is small itself is hidden anyway.
    tiny = suppress_matrix([[1, 1]], 5)
    assert tiny.total and all(tiny.row_totals) and all(tiny.column_totals)


def test_inconsistent_or_negative_counts_are_refused():
    with pytest.raises(ValueError):
        suppress([1, 2, 4], [Relation(2, (0, 1))], 5)
    with pytest.raises(ValueError):
        suppress([-1, 1, 0], [Relation(2, (0, 1))], 5)
    with pytest.raises(ValueError):
        suppress([1], [], 0)
