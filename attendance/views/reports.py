"""Report pages: session sheet, course matrix, student history, and their CSV exports.

The figures come from ``attendance.selectors.reports`` and the charts from ``attendance.charts``;
this module only lays them out. The matrix table is built as a string here rather than in template
loops: a 300 x 60 course is 18,000 cells and the template engine would spend most of the request
on them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from attendance.charts import rate_distribution_svg, rate_over_sessions_svg
from attendance.selectors.access import course_get, session_get, student_get
from attendance.selectors.reports import (
    CSV_COLUMNS,
    CourseMatrix,
    cached_course_report,
    matrix_csv_rows,
    matrix_grid_rows,
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


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    # Names come from student numbers and course codes. New ones cannot hold control characters,
    # but a row saved before that rule (or by a raw SQL import) must not break the header.
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename)
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


def _csv_response(filename: str, rows: Iterable[list], header: list | None = None) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    # A byte order mark first: without it Excel reads the file as the machine's legacy code page
    # and accented names come out garbled.
    response.write("\ufeff")
    writer = csv.writer(response)
    if header is not None:
        writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return _attachment(response, filename)


def csv_download(filename: str, rows: Iterable[list], header: list) -> HttpResponse:
    """A CSV download as every export makes it: BOM, header, formula-safe cells."""
    return _csv_response(filename, rows, header)


def _grid_csv_value(value: object) -> object:
    return "" if value is None else f"{value:.1f}" if isinstance(value, float) else value


def _xlsx_response(filename: str, rows: Iterable[list], *, title: str) -> HttpResponse:
    from openpyxl import Workbook  # imported here: only this download needs it

    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit for a sheet name
    for row in rows:
        # openpyxl writes a string starting with "=" as a formula: the same apostrophe as the CSV.
        sheet.append([_cell(value) for value in row])
    sheet.freeze_panes = "C2"  # names and the header stay in view
    content = io.BytesIO()
    book.save(content)
    response = HttpResponse(
        content.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    return _attachment(response, filename)


def _range_suffix(date_from: date | None, date_to: date | None) -> str:
    if not (date_from or date_to):
        return ""
    return f"_{date_from or 'start'}_{date_to or 'end'}"


def _fmt(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0f}%"


# Drawing ---------------------------------------------------------------------------------------


def matrix_table_html(matrix: CourseMatrix) -> SafeString:
    """The students x sessions table; flagged rows and each cell carry a class for colour."""
    head = ['<thead><tr><th class="corner">Student</th><th>Rate</th>']
    held = [column.id for column in matrix.sessions if column.held]
    latest = held[-1] if held else None
    for column in matrix.sessions:
        # The page scrolls to the latest held session (matrix.js): that is where a teacher looks.
        muted = "" if column.held else ' class="not-held"'
        anchor = ' id="latest-held"' if column.id == latest else ""
        head.append(
            f'<th{muted}{anchor} title="{column.date:%a %Y-%m-%d} {column.start_time:%H:%M}">'
            f"{column.date:%m-%d}</th>"
        )
    head.append("</tr></thead>")
    body = ["<tbody>"]
    # One reverse() for the pattern, not one per student.
    history = reverse("attendance:report_student", args=[0])[: -len("0/")]
    for row in matrix.students:
        flag = ' class="flagged"' if row.flagged else ""
        cells = "".join(map(MATRIX_CELLS.__getitem__, row.cells))
        body.append(
            f'<tr{flag}><th scope="row"><a href="{history}{row.id}/">{escape(row.full_name)}</a> '
            f'<span class="muted">{escape(row.student_number)}</span></th>'
            f'<td class="rate">{_fmt(row.rate)}</td>{cells}</tr>'
        )
    body.append('<tr class="totals"><th scope="row">Session rate</th>')
    body.append(f'<td class="rate">{_fmt(matrix.rate)}</td>')
    body.extend(f"<td>{_fmt(c.rate)}</td>" for c in matrix.sessions)
    body.append("</tr></tbody>")
    return mark_safe("".join(head + body))


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
    return _csv_response(name, matrix_csv_rows(matrix), CSV_COLUMNS)


@login_required
def course_grid(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The matrix as people lay it out in a spreadsheet: CSV or XLSX."""
    if fmt not in ("csv", "xlsx"):
        raise Http404("CSV or XLSX only.")
    course = course_get(user=request.user, pk=pk)
    _, date_from, date_to = _date_range(request)
    matrix = build_course_matrix(course=course, date_from=date_from, date_to=date_to)
    name = f"{course.code}_{course.term}_grid{_range_suffix(date_from, date_to)}.{fmt}"
    rows = matrix_grid_rows(matrix)
    if fmt == "xlsx":
        return _xlsx_response(name, rows, title=f"{course.code} {course.term}")
    return _csv_response(name, ([_grid_csv_value(v) for v in row] for row in rows))


@login_required
def session_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    sheet = build_session_sheet(session=session)
    # The class photos still held (retention deletes them); served by the permission-checked view.
    photos = session.captures.exclude(image="").order_by("created_at").only("pk", "session")
    context = {"sheet": sheet, "photos": photos}
    return render(request, "attendance/reports/session_sheet.html", context)


@login_required
def session_sheet_csv(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    sheet = build_session_sheet(session=session)
    name = f"{session.course.code}_{session.date:%Y-%m-%d}_{session.start_time:%H%M}_sheet.csv"
    return _csv_response(name, sheet_csv_rows(sheet), CSV_COLUMNS)


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
    return _csv_response(name, rows, CSV_COLUMNS)


urlpatterns = [
    path("reports/courses/<int:pk>/", course_matrix, name="report_course"),
    path("reports/courses/<int:pk>/csv/", course_matrix_csv, name="report_course_csv"),
    path("reports/courses/<int:pk>/grid/<str:fmt>/", course_grid, name="report_course_grid"),
    path("reports/sessions/<int:pk>/", session_sheet, name="report_session"),
    path("reports/sessions/<int:pk>/csv/", session_sheet_csv, name="report_session_csv"),
    path("reports/students/<int:pk>/", student_report, name="report_student"),
    path("reports/students/<int:pk>/csv/", student_report_csv, name="report_student_csv"),
]
