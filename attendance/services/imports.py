"""Bulk import: a roster CSV (students, consent, enrollments) and a ZIP of reference photos with
one folder per person (named by student number or full name, as LFW and the seed data do).

Each CSV row and each photo is its own transaction: a bad one is reported with the reason and
does not undo the good ones. A ZIP with an unsafe path (``../x``, ``/etc/x``) is refused whole,
before anything from it is saved.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.errors import DomainError, InvalidInput
from attendance.models import Course, Enrollment, Student
from attendance.services import courses as course_services
from attendance.services import students as student_services
from attendance.services.photos import reference_photo_add

COLUMNS = {
    "student_number": {"student_number", "student number", "number", "student_id", "id"},
    "name": {"name", "full_name", "full name"},
    "email": {"email", "e-mail", "mail"},
    "courses": {"courses", "course"},
    "consent": {"consent", "photo_consent"},
}
YES = {"yes", "y", "true", "1", "x"}
MAX_ZIP_FILES = 5000
MAX_ZIP_BYTES = 1024 * 1024 * 1024
IGNORED = re.compile(r"(^|/)(__MACOSX|\.[^/]*|Thumbs\.db|desktop\.ini)(/|$)")


@dataclass(frozen=True)
class ImportLine:
    where: str  # "roster line 3" or "photos S001/1.jpg"
    outcome: str  # created, updated, unchanged, skipped
    message: str
    photo: int | None = None  # the reference photo a photo line added (its face check follows)


@dataclass
class ImportReport:
    lines: list[ImportLine] = field(default_factory=list)

    def add(self, where: str, outcome: str, message: str, photo: int | None = None) -> None:
        self.lines.append(ImportLine(where, outcome, message, photo))

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    @property
    def has_problems(self) -> bool:
        return self.count("skipped") > 0

    @property
    def created_anything(self) -> bool:
        return self.count("created") + self.count("updated") > 0

    @property
    def summary(self) -> str:
        parts = [f"{self.count(o)} {o}" for o in ("created", "updated", "unchanged", "skipped")]
        return ", ".join(parts)


def roster_import(*, roster_file: File | None, photos_zip: File | None, by: User) -> ImportReport:
    """Import the roster first (so its students exist), then the photos, in this request. Raises
    InvalidInput only for a file that cannot be read at all; everything else is reported line by
    line. Pages and the API use a background job instead (``services.jobs``)."""
    report = ImportReport()
    rows = roster_read(roster_file) if roster_file else None
    entries = zip_read(photos_zip) if photos_zip else None
    if rows is not None:
        roster_rows_import(report, rows, by)
    if entries is not None:
        photo_entries_import(report, entries, by)
        if not entries:
            report.add("photos", "skipped", "The ZIP holds no photos.")
    return report


# --- roster -------------------------------------------------------------------------------------


def roster_read(roster_file: File) -> list[tuple[int, dict[str, str]]]:
    """Every line of a roster CSV as ``(line number, {column: value})``. Raises InvalidInput for
    a file that is not a readable CSV (not UTF-8, a NUL byte, a field over the CSV module's limit
    of 131,072 characters, no usable header), before anything is imported."""
    raw = roster_file.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            "The roster is not a UTF-8 text file; save it as CSV (UTF-8) and try again.",
            code="roster_not_text",
        ) from None
    if "\x00" in text:
        raise InvalidInput(
            "The roster contains a NUL byte, so it is not a CSV text file; nothing was imported. "
            "Save it again as CSV (UTF-8).",
            code="roster_not_text",
        )
    reader = csv.reader(io.StringIO(text))
    try:
        return _roster_rows(reader)
    except csv.Error as error:
        raise InvalidInput(
            f"The roster cannot be read as CSV near line {reader.line_num} ({error}); nothing "
            "was imported.",
            code="roster_unreadable",
        ) from None


def _roster_rows(reader) -> list[tuple[int, dict[str, str]]]:
    header = next(reader, None)
    if not header:
        raise InvalidInput("The roster is empty.", code="roster_empty")
    columns = _columns(header)
    missing = [c for c in ("student_number", "name") if c not in columns]
    if missing:
        raise InvalidInput(
            f"The roster needs the columns student_number and name (found: "
            f"{', '.join(h.strip() for h in header)[:300]}).",
            code="roster_columns",
        )
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        row = {key: (values[i].strip() if i < len(values) else "") for key, i in columns.items()}
        rows.append((reader.line_num, row))
    return rows


def _columns(header: list[str]) -> dict[str, int]:
    found = {}
    for index, title in enumerate(header):
        name = title.strip().lower()
        for key, aliases in COLUMNS.items():
            if name in aliases and key not in found:
                found[key] = index
    return found


def roster_rows_import(report: ImportReport, rows: list[tuple[int, dict[str, str]]], by) -> None:
    """Import roster lines, each all or nothing, reported in line order.

    Students that do not exist yet are created in bulk (a handful of queries for hundreds of
    lines, so that a 10,000-line roster takes seconds); a line that touches an existing student
    goes through the one-by-one path. Should another import create one of the new numbers at the
    same moment, the bulk insert fails whole and every line falls back to the one-by-one path.
    """
    known = set(
        Student.objects.filter(
            student_number__in=[row.get("student_number", "") for _, row in rows]
        ).values_list("student_number", flat=True)
    )
    fresh, slow, seen = [], [], set()
    for line, row in rows:
        number = row.get("student_number", "")
        if number and row.get("name") and number not in known and number not in seen:
            fresh.append((line, row))
            seen.add(number)
        else:
            slow.append((line, row))
    lines: dict[int, ImportLine] = {}
    try:
        with transaction.atomic():
            lines.update(_bulk_create_rows(fresh, by))
    except IntegrityError:
        lines.clear()
        slow = sorted(fresh + slow)
    for line, row in slow:
        lines[line] = _import_row(line, row, by)
    report.lines.extend(lines[line] for line in sorted(lines))


def _bulk_create_rows(rows: list[tuple[int, dict[str, str]]], by) -> dict[int, ImportLine]:
    lines: dict[int, ImportLine] = {}
    courses: dict[str, Course | InvalidInput] = {}
    planned: list[tuple[int, Student, list[Course], bool]] = []
    for line, row in rows:
        where, number = f"roster line {line}", row["student_number"]
        try:
            chosen = [_course_cached(courses, code) for code in _course_codes(row)]
            consent = row.get("consent", "").strip().lower() in YES
            student = student_services.student_build(
                student_number=number,
                full_name=row["name"],
                email=row.get("email", ""),
                consent_by=by if consent else None,
            )
        except (DomainError, ValidationError) as error:
            lines[line] = ImportLine(where, "skipped", f"{number}: {_error_text(error)}")
            continue
        planned.append((line, student, chosen, consent))
    student_services.students_create_bulk(students=[student for _, student, _, _ in planned])
    course_services.enrollments_create_bulk(
        pairs=[(student, course) for _, student, chosen, _ in planned for course in chosen],
        joined_on=timezone.localdate(),
    )
    for line, student, chosen, consent in planned:
        message = _row_message(student, [c.code for c in chosen], consent)
        lines[line] = ImportLine(f"roster line {line}", "created", message)
    return lines


def _course_codes(row: dict[str, str]) -> list[str]:
    return [code for code in re.split(r"[;|]", row.get("courses", "")) if code.strip()]


def _course_cached(cache: dict[str, Course | InvalidInput], text: str) -> Course:
    key = text.strip().casefold()
    if key not in cache:
        try:
            cache[key] = _course(text)
        except InvalidInput as error:
            cache[key] = error
    found = cache[key]
    if isinstance(found, InvalidInput):
        raise found
    return found


def _row_message(student: Student, joined: list[str], consent: bool) -> str:
    details = [f"enrolled in {', '.join(joined)}"] if joined else []
    if consent:
        details.append("photo consent recorded")
    label = f"{student.student_number} {student.full_name}"
    return f"{label}{': ' + '; '.join(details) if details else ''}"


def _import_row(line: int, row: dict[str, str], by) -> ImportLine:
    where = f"roster line {line}"
    number, name = row.get("student_number", ""), row.get("name", "")
    if not number or not name:
        return ImportLine(where, "skipped", "A student number and a name are both required.")
    try:
        with transaction.atomic():
            outcome, message = _apply_row(row, by)
    except (DomainError, ValidationError) as error:
        return ImportLine(where, "skipped", f"{number}: {_error_text(error)}")
    return ImportLine(where, outcome, message)


def _apply_row(row: dict[str, str], by) -> tuple[str, str]:
    courses = [_course(code) for code in _course_codes(row)]
    consent = row.get("consent", "").strip().lower() in YES
    student = (
        Student.objects.select_for_update().filter(student_number=row["student_number"]).first()
    )
    if student is None:
        student = student_services.student_create(
            student_number=row["student_number"],
            full_name=row["name"],
            email=row.get("email", ""),
            consent_by=by if consent else None,
        )
        outcome = "created"
    else:
        if student.full_name.strip().casefold() != row["name"].strip().casefold():
            raise InvalidInput(
                f"the number belongs to {student.full_name}, not {row['name']}; nothing changed",
                code="number_taken",
            )
        outcome = "unchanged"
        if consent and not student.has_photo_consent:
            student_services.consent_record(student=student, by=by)
            outcome = "updated"
    joined = []
    for course in courses:
        if not course.enrollments.filter(student=student, left_on__isnull=True).exists():
            course_services.enrollment_create(
                student=student, course=course, joined_on=timezone.localdate()
            )
            joined.append(course.code)
    if joined and outcome == "unchanged":
        outcome = "updated"
    return outcome, _row_message(student, joined, consent)


def _course(text: str) -> Course:
    code, _, term = text.strip().partition("@")
    courses = Course.objects.filter(code__iexact=code.strip())
    if term:
        courses = courses.filter(term__iexact=term.strip())
    found = list(courses[:2])
    if not found:
        raise InvalidInput(f"there is no course {text.strip()}", code="unknown_course")
    if len(found) > 1:
        raise InvalidInput(
            f"several courses are called {code}; write it as CODE@term, e.g. "
            f"{found[0].code}@{found[0].term}",
            code="ambiguous_course",
        )
    return found[0]


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return str(error)


# --- the dry run -------------------------------------------------------------------------------

TEMPLATE_ROWS = [
    ["student_number", "name", "email", "courses", "consent"],
    ["S001", "Ada Lovelace", "ada@example.edu", "BIO101;MAT150", "yes"],
    ["S002", "Alan Turing", "", "BIO101@2026-fall", "no"],
]


def roster_plan(*, rows: list[tuple[int, dict[str, str]]], by: User) -> ImportReport:
    """What importing ``rows`` would do, line by line, writing nothing: the import page's
    preview. The same checks as the import (a number and a name, known courses, a valid email,
    a number that belongs to someone else); a line repeating an earlier number is judged as the
    import would, against that earlier line."""
    report = ImportReport()
    numbers = [row.get("student_number", "") for _, row in rows]
    existing = {s.student_number: s for s in Student.objects.filter(student_number__in=numbers)}
    open_enrollments = set(
        Enrollment.objects.filter(
            student__student_number__in=numbers, left_on__isnull=True
        ).values_list("student__student_number", "course_id")
    )
    courses: dict[str, Course | InvalidInput] = {}
    planned: dict[str, str] = {}  # number -> name, of lines that would create a student
    for line, row in rows:
        where = f"roster line {line}"
        number, name = row.get("student_number", ""), row.get("name", "")
        if not number or not name:
            report.add(where, "skipped", "A student number and a name are both required.")
            continue
        try:
            chosen = [_course_cached(courses, code) for code in _course_codes(row)]
            consent = row.get("consent", "").strip().lower() in YES
            student = existing.get(number)
            if student is None and number not in planned:
                built = student_services.student_build(
                    student_number=number,
                    full_name=name,
                    email=row.get("email", ""),
                    consent_by=by if consent else None,
                )
                planned[number] = built.full_name
                message = _row_message(built, [c.code for c in chosen], consent)
                report.add(where, "created", message)
                open_enrollments.update((number, c.pk) for c in chosen)
                continue
            known_name = student.full_name if student is not None else planned[number]
            if known_name.strip().casefold() != name.strip().casefold():
                raise InvalidInput(
                    f"the number belongs to {known_name}, not {name}; nothing changed",
                    code="number_taken",
                )
        except (DomainError, ValidationError) as error:
            report.add(where, "skipped", f"{number}: {_error_text(error)}")
            continue
        joined = [c.code for c in chosen if (number, c.pk) not in open_enrollments]
        needs_consent = consent and student is not None and not student.has_photo_consent
        outcome = "updated" if joined or needs_consent else "unchanged"
        label = Student(student_number=number, full_name=known_name)
        report.add(where, outcome, _row_message(label, joined, consent))
        open_enrollments.update((number, c.pk) for c in chosen)
    return report


def photos_plan(
    *, entries: list[ZipEntry], roster: list[tuple[int, dict[str, str]]]
) -> ImportReport:
    """What importing the photos would do: each photo's person folder must name a student who
    exists (or whom the roster creates) and whose photo consent is (or will be) recorded. Whether
    a face is found is known only after the import: the job's page shows it then."""
    report = ImportReport()
    if not entries:
        report.add("photos", "skipped", "The ZIP holds no photos.")
    in_roster = {
        key: row.get("consent", "").strip().lower() in YES
        for _, row in roster
        for key in (row.get("student_number", ""), _normal_name(row.get("name", "")))
        if key
    }
    folders: dict[str, str | None] = {}  # folder -> reason it would be skipped, or None
    for entry in entries:
        where = f"photos {entry.path}"
        if entry.nested:
            report.add(where, "skipped", "folders inside a person's folder are not read")
            continue
        if not entry.folder:
            report.add(where, "skipped", "not in a person folder (student number or name)")
            continue
        if entry.folder not in folders:
            folders[entry.folder] = _folder_problem(entry.folder, in_roster)
        problem = folders[entry.folder]
        if problem:
            report.add(where, "skipped", problem)
        elif entry.info.file_size > settings.ROLLCALL_MAX_UPLOAD_BYTES:
            report.add(where, "skipped", "the photo is larger than the upload limit")
        else:
            report.add(where, "created", f"a reference photo of {entry.folder}, checked after")
    return report


def _folder_problem(folder: str, in_roster: dict[str, bool]) -> str | None:
    for key in (folder, _normal_name(folder)):
        if key in in_roster:
            student = Student.objects.filter(student_number=key).first()
            consent = in_roster[key] or (student is not None and student.has_photo_consent)
            return None if consent else f"{folder} has no photo consent recorded"
    try:
        student = _student_for_folder(folder)
    except InvalidInput as error:
        return error.message
    if not student.has_photo_consent:
        return f"{student.full_name} has no photo consent recorded"
    return None


# --- photos -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipEntry:
    path: str  # as written in the ZIP
    folder: str  # the person folder ("" when the file is not in one)
    nested: bool
    info: zipfile.ZipInfo
    archive: zipfile.ZipFile


def zip_read(photos_zip: File) -> list[ZipEntry]:
    """Open the ZIP and check every path before anything is imported."""
    try:
        archive = zipfile.ZipFile(photos_zip)
        every = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InvalidInput(
            "The photos file is not a ZIP archive (or it is damaged).", code="not_a_zip"
        ) from None
    infos = [i for i in every if not i.is_dir() and not IGNORED.search(i.filename)]
    for info in every:
        if _unsafe(info.filename):
            raise InvalidInput(
                f"The ZIP contains the path {info.filename!r}, which points outside its folder; "
                "nothing was imported. Make the ZIP again from the photo folders.",
                code="unsafe_zip_path",
            )
    if len(infos) > MAX_ZIP_FILES or sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
        raise InvalidInput(
            f"The ZIP is too big (at most {MAX_ZIP_FILES} photos and "
            f"{MAX_ZIP_BYTES // 2**20} MB unpacked); split it.",
            code="zip_too_large",
        )
    parts = [PurePosixPath(i.filename).parts for i in infos]
    # A ZIP made from a folder of person folders has one extra level: drop it.
    tops = {p[0] for p in parts}
    strip = 1 if parts and len(tops) == 1 and all(len(p) >= 3 for p in parts) else 0
    entries = []
    for info, path_parts in zip(infos, parts, strict=True):
        inner = path_parts[strip:]
        entries.append(
            ZipEntry(
                path=info.filename,
                folder=inner[0] if len(inner) >= 2 else "",
                nested=len(inner) > 2,
                info=info,
                archive=archive,
            )
        )
    return entries


def _unsafe(name: str) -> bool:
    return (
        name.startswith(("/", "\\"))
        or "\\" in name
        or re.match(r"^[A-Za-z]:", name) is not None
        or ".." in PurePosixPath(name).parts
    )


def _normal_name(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).casefold()


def _student_for_folder(folder: str) -> Student:
    student = Student.objects.filter(student_number=folder).first()
    if student is not None:
        return student
    matches = [
        s
        for s in Student.objects.filter(full_name__icontains=folder.replace("_", " ").split()[0])
        if _normal_name(s.full_name) == _normal_name(folder)
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InvalidInput(
            f"several students are called {matches[0].full_name}; name the folder by student "
            "number instead",
            code="ambiguous_folder",
        )
    raise InvalidInput(
        f"no student has the number or name {folder!r}; import the roster first or rename the "
        "folder",
        code="unknown_folder",
    )


def photo_entries_import(report: ImportReport, entries: list[ZipEntry], by) -> None:
    """Add the photos of ``entries``, each on its own; a bad one is reported with the reason."""
    students: dict[str, Student | InvalidInput] = {}
    for entry in entries:
        where = f"photos {entry.path}"
        if entry.nested:
            report.add(
                where,
                "skipped",
                "folders inside a person's folder are not read; put the photos directly in "
                f"{entry.folder}/",
            )
            continue
        if not entry.folder:
            report.add(where, "skipped", "not in a person folder (student number or name)")
            continue
        if entry.folder not in students:
            try:
                students[entry.folder] = _student_for_folder(entry.folder)
            except InvalidInput as error:
                students[entry.folder] = error
        student = students[entry.folder]
        if isinstance(student, InvalidInput):
            report.add(where, "skipped", student.message)
            continue
        _import_photo(report, where, entry, student, by)


def _import_photo(report: ImportReport, where: str, entry: ZipEntry, student, by) -> None:
    if entry.info.file_size > settings.ROLLCALL_MAX_UPLOAD_BYTES:
        report.add(where, "skipped", "the photo is larger than the upload limit")
        return
    try:
        data = entry.archive.read(entry.info)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:
        report.add(where, "skipped", f"the file could not be unpacked ({error})")
        return
    name = PurePosixPath(entry.path).name
    try:
        photo = reference_photo_add(student=student, image_file=ContentFile(data, name=name), by=by)
    except DomainError as error:
        report.add(where, "skipped", error.message)
        return
    report.add(
        where, "created", f"photo #{photo.pk} of {student.full_name}, queued for checking", photo.pk
    )
