"""Report pages: session sheet, course matrix, student history and their CSV exports (issue #5).

The figures come from ``attendance.selectors.reports``; this module only draws them. The matrix
table and the charts are built as strings here rather than in template loops: a 300 x 60 course is
18,000 cells and the template engine would spend most of the request on them.
"""

from __future__ import annotations

import csv
from datetime import date

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from attendance.selectors.access import course_get, session_get, student_get
from attendance.selectors.reports import (
    CSV_COLUMNS,
    CourseMatrix,
    cached_course_report,
    matrix_csv_rows,
    sheet_csv_rows,
    student_history,
)
from attendance.selectors.reports import course_matrix as build_course_matrix
from attendance.selectors.reports import session_sheet as build_session_sheet

TABLE_SLOT = "<!--matrix-table-->"
# Matrix cells, kept short (18,000 of them): a one-letter class for the colour, the letter for
# whoever cannot tell colours apart, and no "</td>" (optional in HTML).
MATRIX_CELLS = {
    "present": "<td class=p>P",
    "late": "<td class=l>L",
    "absent": "<td class=a>A",
    "excused": "<td class=e>E",
    "": "<td class=u>·",
    None: "<td>",
}


class DateRangeForm(forms.Form):
    date_from = forms.DateField(required=False, label="From")
    date_to = forms.DateField(required=False, label="To")

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError("'To' comes before 'From'.")
        return data


def _date_range(request: HttpRequest) -> tuple[DateRangeForm, date | None, date | None]:
    form = DateRangeForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    return form, None, None


def _cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula (a student named "=cmd|...") gets a
    leading apostrophe, as OWASP advises for CSV exports."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_response(filename: str, rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return response


def _range_suffix(date_from: date | None, date_to: date | None) -> str:
    if not (date_from or date_to):
        return ""
    return f"_{date_from or 'start'}_{date_to or 'end'}"


def _fmt(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0f}%"


# Drawing ---------------------------------------------------------------------------------------


def matrix_table_html(matrix: CourseMatrix) -> SafeString:
    """The students x sessions table; flagged rows and each cell carry a class for colour."""
    head = ["<thead><tr><th>Student</th><th>Rate</th>"]
    for column in matrix.sessions:
        muted = "" if column.held else ' class="not-held"'
        head.append(
            f'<th{muted} title="{column.date:%a %Y-%m-%d} {column.start_time:%H:%M}">'
            f"{column.date:%m-%d}</th>"
        )
    head.append("</tr></thead>")
    body = ["<tbody>"]
    for row in matrix.students:
        flag = ' class="flagged"' if row.flagged else ""
        cells = "".join(map(MATRIX_CELLS.__getitem__, row.cells))
        body.append(
            f'<tr{flag}><th scope="row">{escape(row.full_name)} '
            f'<span class="muted">{escape(row.student_number)}</span></th>'
            f'<td class="rate">{_fmt(row.rate)}</td>{cells}</tr>'
        )
    body.append('<tr class="totals"><th scope="row">Session rate</th>')
    body.append(f'<td class="rate">{_fmt(matrix.rate)}</td>')
    body.extend(f"<td>{_fmt(c.rate)}</td>" for c in matrix.sessions)
    body.append("</tr></tbody>")
    return mark_safe("".join(head + body))


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


def matrix_page_parts(matrix: CourseMatrix) -> dict:
    """What the matrix page shows, drawn once per version of the course's data (cached)."""
    return {
        "summary": {
            "rate": matrix.rate,
            "students": len(matrix.students),
            "sessions": len(matrix.sessions),
            "flagged": len(matrix.flagged),
            "threshold": matrix.threshold,
        },
        "table": matrix_table_html(matrix).encode(),
        "rate_chart": rate_over_sessions_svg(matrix),
        "distribution_chart": rate_distribution_svg(matrix),
    }


# Pages -----------------------------------------------------------------------------------------


@login_required
def course_matrix(request: HttpRequest, pk: int) -> HttpResponse:
    course = course_get(user=request.user, pk=pk)
    form, date_from, date_to = _date_range(request)
    parts = cached_course_report(
        course=course, kind="page", build=matrix_page_parts, date_from=date_from, date_to=date_to
    )
    context = {
        "course": course,
        "form": form,
        "query": request.GET.urlencode(),
        **parts,
        "table": mark_safe(TABLE_SLOT),
    }
    page = render_to_string("attendance/reports/course_matrix.html", context, request)
    # The table (a few hundred kB) is cached as UTF-8 and joined in once, rather than copied
    # through every level of the template's node lists and encoded again on every request.
    head, tail = page.split(TABLE_SLOT, 1)
    return HttpResponse([head.encode(), parts["table"], tail.encode()])


@login_required
def course_matrix_csv(request: HttpRequest, pk: int) -> HttpResponse:
    course = course_get(user=request.user, pk=pk)
    _, date_from, date_to = _date_range(request)
    matrix = build_course_matrix(course=course, date_from=date_from, date_to=date_to)
    name = f"{course.code}_{course.term}_matrix{_range_suffix(date_from, date_to)}.csv"
    return _csv_response(name, matrix_csv_rows(matrix))


@login_required
def session_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    sheet = build_session_sheet(session=session)
    return render(request, "attendance/reports/session_sheet.html", {"sheet": sheet})


@login_required
def session_sheet_csv(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    sheet = build_session_sheet(session=session)
    name = f"{session.course.code}_{session.date:%Y-%m-%d}_{session.start_time:%H%M}_sheet.csv"
    return _csv_response(name, sheet_csv_rows(sheet))


@login_required
def student_report(request: HttpRequest, pk: int) -> HttpResponse:
    student = student_get(user=request.user, pk=pk)
    form, date_from, date_to = _date_range(request)
    history = student_history(
        user=request.user, student=student, date_from=date_from, date_to=date_to
    )
    context = {
        "student": student,
        "form": form,
        "history": [
            (item, list(zip(item.matrix.sessions, item.row.cells, strict=True)) if item.row else [])
            for item in history
        ],
        "query": request.GET.urlencode(),
    }
    return render(request, "attendance/reports/student_history.html", context)


@login_required
def student_report_csv(request: HttpRequest, pk: int) -> HttpResponse:
    student = student_get(user=request.user, pk=pk)
    _, date_from, date_to = _date_range(request)
    history = student_history(
        user=request.user, student=student, date_from=date_from, date_to=date_to
    )
    rows = (
        row for item in history for row in matrix_csv_rows(item.matrix, only_student=student.pk)
    )
    name = f"{student.student_number}_history{_range_suffix(date_from, date_to)}.csv"
    return _csv_response(name, rows)


urlpatterns = [
    path("reports/courses/<int:pk>/", course_matrix, name="report_course"),
    path("reports/courses/<int:pk>/csv/", course_matrix_csv, name="report_course_csv"),
    path("reports/sessions/<int:pk>/", session_sheet, name="report_session"),
    path("reports/sessions/<int:pk>/csv/", session_sheet_csv, name="report_session_csv"),
    path("reports/students/<int:pk>/", student_report, name="report_student"),
    path("reports/students/<int:pk>/csv/", student_report_csv, name="report_student_csv"),
]
