"""Attendance reports: the course matrix, the session sheet, a student's history, and the rates
they share. The pages, the CSV exports and the API all read these, so a figure is computed in one
place.

- ``rates``: how a status earns credit and how a rate is computed (``Tally``, ``credit_for``).
- ``matrix``: the course matrix, students by sessions (``course_matrix``).
- ``cache``: the matrix built once per change of the course's data (``cached_course_report``).
- ``session_sheet``: one session's students and marks (``session_sheet``).
- ``history``: a student's row in each of their courses (``student_history``).
- ``exports``: the CSV rows of the matrix and the sheet (``CSV_COLUMNS``) and the grid.

The names below are the package's public face; callers import them from here.
"""

from attendance.selectors.reports.cache import REPORT_CACHE_SECONDS, cached_course_report
from attendance.selectors.reports.exports import (
    AUTOMATIC_MARKER,
    CSV_COLUMNS,
    matrix_csv_rows,
    matrix_grid_rows,
    sheet_csv_rows,
)
from attendance.selectors.reports.history import HistoryCourse, student_history
from attendance.selectors.reports.matrix import (
    CourseMatrix,
    SessionColumn,
    StudentRow,
    course_matrix,
)
from attendance.selectors.reports.rates import NOT_ENROLLED, UNMARKED, Tally, credit_for, is_held
from attendance.selectors.reports.session_sheet import SessionSheet, SheetLine, session_sheet

__all__ = [
    "AUTOMATIC_MARKER",
    "CSV_COLUMNS",
    "NOT_ENROLLED",
    "REPORT_CACHE_SECONDS",
    "UNMARKED",
    "CourseMatrix",
    "HistoryCourse",
    "SessionColumn",
    "SessionSheet",
    "SheetLine",
    "StudentRow",
    "Tally",
    "cached_course_report",
    "course_matrix",
    "credit_for",
    "is_held",
    "matrix_csv_rows",
    "matrix_grid_rows",
    "session_sheet",
    "sheet_csv_rows",
    "student_history",
]
