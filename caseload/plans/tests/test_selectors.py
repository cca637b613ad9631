"""Plan reads: the diff between two versions, folded where nothing changed (TP-4)."""

from __future__ import annotations

from caseload.plans.models import PlanVersion
from caseload.plans.selectors import version_diff


def version(*paragraphs: str) -> PlanVersion:
    return PlanVersion(html="".join(f"<p>{text}</p>" for text in paragraphs))


def shape(older: PlanVersion, newer: PlanVersion) -> list[tuple[bool, list[str]]]:
    """Each block as (folded, ["+added", "-removed", " same", …])."""
    marks = {"added": "+", "removed": "-", "same": " "}
    return [
        (block.folded, [marks[line.kind] + line.text for line in block.lines])
        for block in version_diff(older, newer).blocks
    ]


LINES = [f"Line {n}" for n in range(1, 11)]


def test_a_change_keeps_two_lines_of_context_and_folds_three_or_more_unchanged() -> None:
    older, newer = version(*LINES), version(*LINES[:5], "Line 6 revised", *LINES[6:])

    diff = version_diff(older, newer)

    assert (diff.added, diff.removed) == (1, 1)
    assert shape(older, newer) == [
        (True, [" Line 1", " Line 2", " Line 3"]),
        # Two unchanged lines at the end are shown, not folded as "2 unchanged lines".
        (
            False,
            [
                " Line 4",
                " Line 5",
                "-Line 6",
                "+Line 6 revised",
                " Line 7",
                " Line 8",
                " Line 9",
                " Line 10",
            ],
        ),
    ]


def test_changes_far_apart_fold_the_run_between_them() -> None:
    older = version(*LINES)
    newer = version("Line 1 revised", *LINES[1:9], "Line 10 revised")

    assert shape(older, newer) == [
        (False, ["-Line 1", "+Line 1 revised", " Line 2", " Line 3"]),
        (True, [" Line 4", " Line 5", " Line 6", " Line 7"]),
        (False, [" Line 8", " Line 9", "-Line 10", "+Line 10 revised"]),
    ]


def test_identical_versions_are_one_unfolded_block_with_nothing_counted() -> None:
    diff = version_diff(version(*LINES), version(*LINES))

    assert (diff.added, diff.removed) == (0, 0)
    assert [(block.folded, len(block.lines)) for block in diff.blocks] == [(False, 10)]
