"""Capacity of the worker tier: class photos through the real queue to 1, then 2 worker processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rollcall_capacity \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 python -m benchmarks capacity --photos 12

It migrates the database (created if missing), enrolls a roster of LFW people through the worker
(reference photos, not timed), composes ``--photos`` class photos of ``--faces`` faces at
1920x1080 as ``benchmarks attendance`` does (enrolled people and strangers), then for each worker
count starts that many ``celery worker --concurrency=1`` processes on a queue of its own, waits
until each has loaded the models ("face models loaded" in its log), saves every photo at once with
``capture_create`` (a burst, as a school's first minutes of a period are) and waits for all of them.
It prints photos per minute (photos / (last finished - first saved)), per-photo latency from save to
done (median, p95; queueing included) and processing time alone, and peak resident memory of one
worker (its pool process's high-water mark plus the main process). Everything it created is deleted
at the end (rows and files).
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date
from datetime import time as clock
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

ROOT = Path(__file__).resolve().parents[1]
CELERY = str(Path(sys.executable).with_name("celery"))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory (or its high-water mark, VmHWM) of a process, in KiB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


class Worker:
    def __init__(self, queue: str, log: Path) -> None:
        self.queue, self.log = queue, log
        env = {**os.environ, "ROLLCALL_TASK_QUEUE": queue, "ROLLCALL_SWEEP_ON_WORKER_START": "0"}
        env["DJANGO_SETTINGS_MODULE"] = os.environ.get(
            "DJANGO_SETTINGS_MODULE", "config.settings.local"
        )
        self.process = subprocess.Popen(
            [CELERY, "-A", "config", "worker", "--concurrency=1", "--pool=prefork",
             f"--queues={queue}", f"--hostname={log.stem}@%h", "--loglevel=INFO",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.peak_kib = 0

    def wait_warm(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while "face models loaded" not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise CommandError(
                    f"worker did not load the models:\n{self.log.read_text()[-2000:]}"
                )
            time.sleep(0.5)

    def sample_memory(self) -> None:
        # The pool process holds the model; its VmHWM is its peak. The main process is small.
        pool = children(self.process.pid)
        total = rss_kib(self.process.pid) + sum(rss_kib(pid, "VmHWM") for pid in pool)
        self.peak_kib = max(self.peak_kib, total)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Command(BaseCommand):
    help = "Photos per minute, latency and peak memory with 1 and 2 worker processes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--photos", type=int, default=12, help="Class photos per run.")
        parser.add_argument("--faces", type=int, default=30, help="Faces in each class photo.")
        parser.add_argument("--enrolled", type=int, default=40, help="People on the roster.")
        parser.add_argument("--workers", default="1,2", help="Worker counts to run, in order.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--datasets", type=Path, default=None, help="Folder holding lfw/.")

    def handle(self, *args, **opts) -> None:
        from config.celery_app import app

        lfw = (opts["datasets"] or settings.ROLLCALL_DATASETS_DIR) / "lfw"
        if not lfw.is_dir():
            raise CommandError(f"LFW not found at {lfw}; pass --datasets or set ROLLCALL_DATASETS.")
        if not settings.CELERY_BROKER_URL.startswith("redis://"):
            raise CommandError("Set CELERY_BROKER_URL=redis://... : the real queue is measured.")
        self._create_database()
        call_command("migrate", "--noinput", verbosity=0)
        queue = f"rollcall-capacity-{uuid.uuid4().hex[:8]}"
        app.conf.task_default_queue = queue
        logs = Path(settings.VAR_DIR) / "capacity"
        logs.mkdir(parents=True, exist_ok=True)
        load = os.getloadavg()
        self.stdout.write(
            f"capacity: {opts['photos']} class photos of {opts['faces']} faces (1920x1080) per "
            f"run, queue {queue}; {os.cpu_count()} cores, load average {load[0]:.1f} "
            f"{load[1]:.1f} {load[2]:.1f} at start"
        )
        workers: list[Worker] = []
        course = None
        try:
            workers.append(Worker(queue, logs / f"{queue}-1.log"))
            course, session_of, roster = self._enroll(lfw, opts, workers[0])
            photos = self._compose(roster, opts)
            rows = []
            for count in [int(n) for n in opts["workers"].split(",")]:
                while len(workers) < count:
                    workers.append(Worker(queue, logs / f"{queue}-{len(workers) + 1}.log"))
                for worker in workers:
                    worker.wait_warm()
                rows.append(self._run(count, photos, session_of(count), workers[:count]))
            self._print(rows, opts)
        finally:
            for worker in workers:
                worker.stop()
            if course is not None:
                self._clean(course)

    def _create_database(self) -> None:
        import psycopg

        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("postgresql"):
            return
        admin = f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            if not connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
            ).fetchone():
                connection.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(
                    psycopg.sql.Identifier(db["NAME"])))  # fmt: skip

    def _enroll(self, lfw: Path, opts: dict, first: Worker):
        from django.contrib.auth import get_user_model

        from attendance.models import ReferencePhoto
        from attendance.services import courses, photos, students
        from benchmarks.synth import build_roster

        roster = build_roster(
            lfw, enrolled=opts["enrolled"], strangers=opts["faces"], seed=opts["seed"]
        )
        tag = uuid.uuid4().hex[:6]
        admin = get_user_model().objects.create_user(
            f"capacity-{tag}", is_staff=True, is_superuser=True
        )
        course = courses.course_create(
            code=f"CAP-{tag}", title="Capacity benchmark", term="bench", teachers=[admin]
        )
        for i, (person, paths) in enumerate(sorted(roster.enrolled.items())):
            student = students.student_create(
                student_number=f"CAP-{tag}-{i:03d}", full_name=person, consent_by=admin
            )
            courses.enrollment_create(student=student, course=course, joined_on=date(2026, 1, 1))
            for path in paths:
                photos.reference_photo_add(
                    student=student, image_file=ContentFile(path.read_bytes(), path.name), by=admin
                )
        sessions: dict[int, object] = {}

        def session_of(count: int):
            if count not in sessions:
                sessions[count] = courses.session_create(
                    course=course, date=date(2026, 3, count), start_time=clock(9),
                    end_time=clock(10),
                )  # fmt: skip
            return sessions[count]

        started = time.perf_counter()
        first.wait_warm()
        pending = ReferencePhoto.objects.filter(
            student__enrollments__course=course, status="pending"
        )
        while pending.exists():
            time.sleep(1)
        ready = ReferencePhoto.objects.filter(
            student__enrollments__course=course, status="ready"
        ).count()
        self.stdout.write(
            f"enrolled {len(roster.enrolled)} people, {ready} reference photos embedded by the "
            f"worker in {time.perf_counter() - started:.0f} s (not counted)"
        )
        return course, session_of, roster

    def _compose(self, roster, opts: dict) -> list[bytes]:
        from benchmarks.synth import compose_class_photo

        rng = random.Random(opts["seed"])
        photos = []
        for _ in range(opts["photos"]):
            strangers = rng.sample(sorted(roster.strangers), max(1, opts["faces"] // 6))
            present = rng.sample(sorted(roster.probes), opts["faces"] - len(strangers))
            people = roster.probe_faces(present, strangers, seed=rng.randint(0, 10**6))
            photos.append(
                compose_class_photo(
                    people, width=1920, height=1080, seed=rng.randint(0, 10**6)
                ).jpeg
            )
        return photos

    def _run(self, count: int, photos: list[bytes], session, workers: list[Worker]) -> dict:
        from attendance.models import Capture
        from attendance.services.captures import capture_create

        first_saved = time.time()
        ids = [
            capture_create(
                session=session, image_file=ContentFile(jpeg, f"class-{i}.jpg"), source="upload",
                by=None,
            ).pk
            for i, jpeg in enumerate(photos)
        ]  # fmt: skip
        waiting = Capture.objects.filter(pk__in=ids, state__in=["queued", "processing"])
        while waiting.exists():
            for worker in workers:
                worker.sample_memory()
            time.sleep(0.5)
        for worker in workers:
            worker.sample_memory()
        done = list(Capture.objects.filter(pk__in=ids))
        last = max(c.finished_at for c in done).timestamp()
        latency = [(c.finished_at - c.created_at).total_seconds() for c in done]
        processing = [(c.finished_at - c.started_at).total_seconds() for c in done]
        return {
            "workers": count,
            "per_minute": len(done) / (last - first_saved) * 60,
            "latency": (statistics.median(latency), p95(latency)),
            "processing": (statistics.median(processing), p95(processing)),
            "faces": statistics.mean(c.timings.get("faces", 0) for c in done),
            "failed": sum(c.state == "failed" for c in done),
            "peak_mib": max(w.peak_kib for w in workers) / 1024,
            "load": os.getloadavg()[0],
        }

    def _print(self, rows: list[dict], opts: dict) -> None:
        self.stdout.write("")
        self.stdout.write(
            "workers  photos/min  latency median  latency p95  processing median  "
            "processing p95  faces/photo  failed  peak RSS/worker  load after"
        )
        for r in rows:
            self.stdout.write(
                f"{r['workers']:>7}  {r['per_minute']:>10.1f}  {r['latency'][0]:>13.1f}s  "
                f"{r['latency'][1]:>10.1f}s  {r['processing'][0]:>16.1f}s  "
                f"{r['processing'][1]:>13.1f}s  {r['faces']:>11.1f}  {r['failed']:>6}  "
                f"{r['peak_mib']:>11.0f} MiB  {r['load']:>10.1f}"
            )

    def _clean(self, course) -> None:
        from django.contrib.auth import get_user_model

        from attendance.models import Student

        teachers = list(course.teachers.all())
        Student.objects.filter(enrollments__course=course).delete()
        course.delete()  # sessions, captures, faces: rows and files
        get_user_model().objects.filter(pk__in=[t.pk for t in teachers]).delete()
