"""The server-rendered mood chart (SN-3): geometry and its text alternative. No database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caseload.visits.charts import LineChart, line_chart

ZONE = ZoneInfo("America/New_York")
# Default geometry: 560 x 200 with margins left 36, right 12, top 12, bottom 28.
LEFT, RIGHT, TOP, BOTTOM = 36, 560 - 12, 12, 200 - 28


def when(day: int, hour: int = 15) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def chart(series: list[tuple[datetime, int]]) -> LineChart:
    result = line_chart(series)
    assert result is not None
    return result


def test_no_scores_no_chart() -> None:
    assert line_chart([]) is None


def test_highest_score_is_at_the_top_and_lowest_at_the_bottom() -> None:
    drawn = chart([(when(2), 10), (when(9), 1), (when(16), 5)])

    ys = {point.value: point.y for point in drawn.points}
    assert ys[10] == TOP
    assert ys[1] == BOTTOM
    assert ys[10] < ys[5] < ys[1]  # SVG y grows downwards
    assert ys[5] == pytest.approx(TOP + (10 - 5) / 9 * (BOTTOM - TOP), abs=0.1)


def test_time_runs_left_to_right_in_proportion() -> None:
    drawn = chart([(when(2), 4), (when(5), 6), (when(12), 8)])

    xs = [point.x for point in drawn.points]
    assert xs[0] == LEFT and xs[-1] == RIGHT
    assert xs[1] == pytest.approx(LEFT + 3 / 10 * (RIGHT - LEFT), abs=0.1)


def test_points_are_ordered_by_time_whatever_the_input_order() -> None:
    drawn = chart([(when(16), 8), (when(2), 3), (when(9), 5)])

    assert [point.value for point in drawn.points] == [3, 5, 8]
    assert [point.x for point in drawn.points] == sorted(point.x for point in drawn.points)
    assert drawn.polyline == " ".join(f"{p.x},{p.y}" for p in drawn.points)


def test_summary_states_first_latest_lowest_and_highest() -> None:
    drawn = chart([(when(16), 6), (when(2), 4), (when(9), 2), (when(23), 9), (when(12), 7)])

    assert drawn.summary == (
        "Mood over 5 sessions from 02 Mar 2026 to 23 Mar 2026: "
        "first 4, latest 9, lowest 2, highest 9."
    )


def test_one_score_is_centred_and_summarised_in_the_singular() -> None:
    drawn = chart([(when(2), 7)])

    assert len(drawn.points) == 1
    assert drawn.points[0].x == LEFT + (RIGHT - LEFT) / 2
    assert drawn.summary.startswith("Mood over 1 session from 02 Mar 2026")
    assert len(drawn.x_labels) == 1


def test_axis_ticks_mark_one_five_and_ten() -> None:
    drawn = chart([(when(2), 3), (when(3), 4)])
    assert [value for _, value in drawn.y_ticks] == [1, 5, 10]
    assert dict((value, y) for y, value in drawn.y_ticks)[10] == TOP


def test_dates_are_those_of_the_practice_time_zone() -> None:
    # 23:30 on Monday 2 March in New York is already Tuesday in UTC, as the database gives it.
    late_monday = datetime(2026, 3, 2, 23, 30, tzinfo=ZONE).astimezone(UTC)
    assert late_monday.day == 3
    with timezone.override(ZONE):
        drawn = chart([(late_monday, 6)])

    assert drawn.points[0].label == "02 Mar 2026: 6"
    assert "from 02 Mar 2026 to 02 Mar 2026" in drawn.summary
    assert drawn.x_labels[0][1] == "02 Mar"


# Questionnaire charts: severity bands and item 9 ----------------------------------------
def test_phq9_chart_shows_its_cut_offs_as_labelled_bands() -> None:
    from caseload.visits.charts import trend_charts

    (phq9,) = trend_charts([], {"phq9": [(when(2), 12, "Moderate"), (when(9), 7, "Mild")]})

    bands = phq9.chart.bands
    assert [band.label for band in bands] == [
        "Minimal (0–4)",
        "Mild (5–9)",
        "Moderate (10–14)",
        "Moderately severe (15–19)",
        "Severe (20–27)",
    ]
    assert [band.low for band in bands][1:] == [5, 10, 15, 20]
    # Stacked without gaps from the bottom (0) to the top (27) of the plot.
    assert bands[0].y + bands[0].height == pytest.approx(BOTTOM, abs=0.2)
    assert bands[-1].y == TOP
    for lower, upper in itertools.pairwise(bands):
        assert upper.y + upper.height == pytest.approx(lower.y, abs=0.2)
    assert [value for _, value in phq9.chart.y_ticks] == [0, 5, 10, 15, 20, 27]


def test_gad7_chart_shows_its_cut_offs_as_labelled_bands() -> None:
    from caseload.visits.charts import trend_charts

    (gad7,) = trend_charts([], {"gad7": [(when(2), 16, "Severe")]})

    assert [band.label for band in gad7.chart.bands] == [
        "Minimal (0–4)",
        "Mild (5–9)",
        "Moderate (10–14)",
        "Severe (15–21)",
    ]
    assert [value for _, value in gad7.chart.y_ticks] == [0, 5, 10, 15, 21]


def test_item9_positive_responses_are_marked() -> None:
    from caseload.visits.charts import trend_charts

    (phq9,) = trend_charts(
        [],
        {
            "phq9": [
                (when(2), 14, "Moderate", True),
                (when(9), 9, "Mild", False),
                (when(16), 6, "Mild"),
            ]
        },
    )

    assert [point.flagged for point in phq9.chart.points] == [True, False, False]
    assert phq9.chart.points[0].label.endswith("— item 9 above 0")
    assert "1 response with item 9 above 0 (marked)." in phq9.chart.summary


def test_mood_has_no_bands() -> None:
    assert chart([(when(2), 4), (when(9), 6)]).bands == ()
