"""A server-rendered line chart of scores over time (SN-3; later DOC-4 adds questionnaires).

Questionnaire charts show their published severity cut-offs as labelled bands — PHQ-9
(Kroenke, Spitzer & Williams 2001): 5, 10, 15, 20 (mild, moderate, moderately severe,
severe); GAD-7 (Spitzer et al. 2006): 5, 10, 15 (mild, moderate, severe) — and mark every
PHQ-9 response whose item 9 (thoughts of being better off dead or of self-harm) was above 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

#: A trend chart draws the latest this many points of each series, however long the history.
CHART_POINTS = 26


#: (lowest, highest, name) of each severity band, inclusive, as the scales publish them.
SEVERITY_BANDS: dict[str, tuple[tuple[int, int, str], ...]] = {
    "phq9": (
        (0, 4, "Minimal"),
        (5, 9, "Mild"),
        (10, 14, "Moderate"),
        (15, 19, "Moderately severe"),
        (20, 27, "Severe"),
    ),
    "gad7": ((0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"), (15, 21, "Severe")),
}

#: A questionnaire total: (submitted, total, severity) or (…, item 9 above 0).
ScoreTuple = tuple[datetime, int, str] | tuple[datetime, int, str, bool]


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    label: str  # "12 Mar 2026: 6"
    value: int
    when: datetime
    flagged: bool = False  # PHQ-9 item 9 above 0: marked on the chart


@dataclass(frozen=True)
class Band:
    """A severity band drawn behind the line: from `y` down `height`, labelled at its cut-off."""

    y: float
    height: float
    label: str  # "Mild (5–9)"
    name: str
    low: int
    level: int  # 0 for the lowest band: the CSS shade


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    points: list[ChartPoint]
    polyline: str
    y_ticks: list[tuple[float, int]]
    x_labels: list[tuple[float, str]]
    summary: str
    bands: tuple[Band, ...] = ()


def line_chart(
    series: list[tuple[datetime, int]],
    *,
    minimum: int = 1,
    maximum: int = 10,
    width: int = 560,
    height: int = 200,
    name: str = "Mood",
    noun: str = "session",
    domain: tuple[datetime, datetime] | None = None,
    bands: tuple[tuple[int, int, str], ...] = (),
    flagged: frozenset[datetime] = frozenset(),
) -> LineChart | None:
    """Scale (time, score) pairs into SVG coordinates. None when there is nothing to draw.

    `bands` are the severity bands to shade (their cut-offs become the y ticks); `flagged`
    the moments whose point is marked (item 9 above 0)."""
    if not series:
        return None
    flagged = frozenset(timezone.localtime(m) if timezone.is_aware(m) else m for m in flagged)
    # Dates shown in the current (practice) time zone: 23:30 local is still that day.
    series = sorted(
        (timezone.localtime(moment) if timezone.is_aware(moment) else moment, value)
        for moment, value in series
    )
    left, right, top, bottom = 36, 12, 12, 28
    plot_width, plot_height = width - left - right, height - top - bottom
    first, last = series[0][0], series[-1][0]
    # Charts drawn one above the other share `domain`, so the same date lines up in each.
    start, end = (
        timezone.localtime(d) if timezone.is_aware(d) else d for d in domain or (first, last)
    )
    span = (end - start).total_seconds() or 1.0

    def x_of(moment: datetime) -> float:
        if start == end:
            return left + plot_width / 2
        return round(left + (moment - start).total_seconds() / span * plot_width, 1)

    def y_of(value: int) -> float:
        return round(top + (maximum - value) / (maximum - minimum) * plot_height, 1)

    points = [
        ChartPoint(
            x=x_of(moment),
            y=y_of(value),
            value=value,
            when=moment,
            label=f"{moment:%d %b %Y}: {value}"
            + (" — item 9 above 0" if moment in flagged else ""),
            flagged=moment in flagged,
        )
        for moment, value in series
    ]
    values = [value for _, value in series]
    summary = (
        f"{name} over {len(values)} {noun}{'s' if len(values) != 1 else ''} "
        f"from {first:%d %b %Y} to {last:%d %b %Y}: "
        f"first {values[0]}, latest {values[-1]}, lowest {min(values)}, highest {max(values)}."
    )
    marked = sum(point.flagged for point in points)
    if marked:
        summary += f" {marked} response{'s' if marked != 1 else ''} with item 9 above 0 (marked)."
    shaded = tuple(
        Band(
            y=y_of(high + 1 if high < maximum else maximum),
            height=round(y_of(low) - y_of(high + 1 if high < maximum else maximum), 1),
            label=f"{band_name} ({low}–{high})",
            name=band_name,
            low=low,
            level=level,
        )
        for level, (low, high, band_name) in enumerate(bands)
    )
    tick_values = (
        {minimum, maximum, *(low for low, _, _ in bands)}
        if bands
        else {minimum, (minimum + maximum) // 2, maximum}
    )
    ticks = [(y_of(v), v) for v in sorted(tick_values)]
    # The axis is labelled at its two ends (the first and last dates of all aligned charts).
    labels = [(x_of(start), f"{start:%d %b}")]
    if start != end:
        labels.append((x_of(end), f"{end:%d %b}"))
    return LineChart(
        width=width,
        height=height,
        points=points,
        polyline=" ".join(f"{p.x},{p.y}" for p in points),
        y_ticks=ticks,
        x_labels=labels,
        summary=summary,
        bands=shaded,
    )


@dataclass(frozen=True)
class TrendChart:
    key: str  # "mood", "phq9", "gad7": also the id prefix and the point's data attribute
    title: str
    chart: LineChart
    value_heading: str
    extra: dict[datetime, str]  # e.g. the severity of each score, for the table


def trend_charts(
    moods: list[tuple[datetime, int]],
    scores: dict[str, list[ScoreTuple]],
) -> list[TrendChart]:
    """Mood from sessions and questionnaire totals as aligned charts on one time axis (DOC-4).
    Each series is cut to its latest CHART_POINTS: the chart doesn't grow with the history."""
    moods = sorted(moods)[-CHART_POINTS:]
    scores = {key: sorted(points)[-CHART_POINTS:] for key, points in scores.items()}
    moments = [moment for moment, _ in moods] + [
        point[0] for points in scores.values() for point in points
    ]
    if not moments:
        return []
    domain = (min(moments), max(moments))
    charts: list[TrendChart] = []
    mood = line_chart(moods, domain=domain)
    if mood is not None:
        charts.append(TrendChart("mood", "Mood over time (1–10)", mood, "Mood", {}))
    for key, name, maximum in (("phq9", "PHQ-9", 27), ("gad7", "GAD-7", 21)):
        points = scores.get(key, [])
        chart = line_chart(
            [(point[0], point[1]) for point in points],
            minimum=0,
            maximum=maximum,
            name=name,
            noun="response",
            domain=domain,
            bands=SEVERITY_BANDS[key],
            flagged=frozenset(point[0] for point in points if len(point) > 3 and point[3]),
        )
        if chart is not None:
            charts.append(
                TrendChart(
                    key,
                    f"{name} total over time (0–{maximum})",
                    chart,
                    name,
                    {point[0]: point[2] for point in points},
                )
            )
    return charts
