"""The report charts, drawn as inline SVG: pure functions of a course matrix, no request, no
database. Strings rather than a template: they are cached with the page's other parts and a
template would spend more time on the loops than the drawing costs."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe

from attendance.selectors.reports import CourseMatrix


def _threshold_key(width: int, threshold: float) -> str:
    """A key in the top right corner: a dashed line sample and what it means."""
    x = width - 8
    return (
        f'<line x1="{x - 150}" x2="{x - 122}" y1="10" y2="10" class="threshold"/>'
        f'<text x="{x}" y="14" text-anchor="end" class="threshold-label">'
        f"threshold {threshold:.0f}%</text>"
    )


def _bar_colour(rate: float, threshold: float) -> str:
    return "#12805c" if rate >= threshold else "#b42318"


def rate_over_sessions_svg(
    matrix: CourseMatrix, *, width: int = 720, height: int = 220
) -> SafeString:
    """One bar per held session, green at or above the threshold, red below, with the threshold
    drawn as a dashed line: the eye finds the bad sessions without reading a number."""
    held = [c for c in matrix.sessions if c.held and c.rate is not None]
    left, bottom, top = 36, 24, 24
    plot_w, plot_h = width - left - 8, height - bottom - top
    threshold = matrix.threshold
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Attendance rate per session, threshold {threshold:.0f}%">',
    ]
    for tick in (0, 50, 100):
        y = top + plot_h * (1 - tick / 100)
        parts.append(
            f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}%</text>'
        )
    step = plot_w / max(len(held), 1)
    for i, column in enumerate(held):
        bar_h = plot_h * column.rate / 100
        x = left + i * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{bar_h:.1f}" fill="{_bar_colour(column.rate, threshold)}">'
            f"<title>{column.date:%Y-%m-%d}: {column.rate:.0f}%</title></rect>"
        )
    if held:
        parts.append(
            f'<text x="{left}" y="{height - 6}">{held[0].date:%Y-%m-%d}</text>'
            f'<text x="{width - 8}" y="{height - 6}" text-anchor="end">'
            f"{held[-1].date:%Y-%m-%d}</text>"
        )
    else:
        parts.append(f'<text x="{left + 8}" y="{top + plot_h / 2:.1f}">No session held yet.</text>')
    y = top + plot_h * (1 - threshold / 100)
    parts.append(
        f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="threshold"/>'
        f"{_threshold_key(width, threshold)}</svg>"
    )
    return mark_safe("".join(parts))


def rate_distribution_svg(
    matrix: CourseMatrix, *, width: int = 360, height: int = 220, bins: int = 10
) -> SafeString:
    """How many students fall in each 10 % band; bands below the threshold are red."""
    counts = matrix.rate_histogram(bins=bins)
    left, bottom, top = 8, 24, 24
    plot_w, plot_h = width - left - 8, height - bottom - top
    highest = max(counts) or 1
    step = plot_w / bins
    threshold = matrix.threshold
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Students by attendance rate, threshold {threshold:.0f}%">'
    ]
    for i, count in enumerate(counts):
        band_top = (i + 1) * 100 / bins
        bar_h = (plot_h - 14) * count / highest  # room for the count above the highest bar
        x = left + i * step + 1
        colour = "#b42318" if band_top <= threshold else "#12805c"
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{step - 2:.1f}" '
            f'height="{bar_h:.1f}" fill="{colour}"><title>{i * 100 // bins}–{band_top:.0f}%: '
            f"{count} student(s)</title></rect>"
        )
        if count:
            parts.append(
                f'<text x="{x + (step - 2) / 2:.1f}" y="{top + plot_h - bar_h - 3:.1f}" '
                f'text-anchor="middle">{count}</text>'
            )
    for tick, anchor in ((0, "start"), (50, "middle"), (100, "end")):
        parts.append(
            f'<text x="{left + plot_w * tick / 100:.1f}" y="{height - 6}" '
            f'text-anchor="{anchor}">{tick}%</text>'
        )
    x = left + plot_w * threshold / 100
    parts.append(
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" class="threshold"/>'
        f"{_threshold_key(width, threshold)}</svg>"
    )
    return mark_safe("".join(parts))
