"""Load benchmark of the reports: a 300-student, 60-session course, 20 concurrent clients.

    python -m benchmarks reports                      # fresh SQLite file in a temp folder
    python -m benchmarks reports --database-url postgres://postgres@127.0.0.1:5432/rollcall_bench

It (1) migrates the database and seeds a new course (its own code, so nothing is overwritten) in
a child process, (2) starts gunicorn on 127.0.0.1 on a free port against that database with
production settings, (3) sends ``--requests`` requests from ``--clients`` concurrent clients to
the course matrix page and then to its API report, and prints a table of latencies. The target is
a median under 300 ms for both. Numbers, not a test: run it again on your machine. The machine's
load average and the CPU time per request of the server (gunicorn's workers) and of the clients
are printed too: on a shared machine latency follows the neighbours, CPU per request does not.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# What a teacher's course looks like, roughly: mostly present, some late, few absent or excused.
STATUS_WEIGHTS = {"present": 80, "late": 8, "absent": 9, "excused": 3}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(*, students: int, sessions: int, rng_seed: int = 5) -> dict:
    """Create a course with ``students`` x ``sessions`` marks, its teacher, a token and a logged-in
    session cookie. Runs in the child process, whose DATABASE_URL is the benchmark's database.

    Course, students, enrollments and sessions go through the services. The 18,000 marks are
    bulk-inserted: through ``attendance_mark`` (one audited, locked write each) seeding alone
    would take minutes, and what is measured here is reading them.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection, transaction
    from rest_framework.authtoken.models import Token

    from attendance.models import AttendanceRecord, ClassSession
    from attendance.services import courses as course_services
    from attendance.services import students as student_services

    rng = random.Random(rng_seed)
    run = f"{int(time.time()) % 10**8}"
    with transaction.atomic():
        teacher = get_user_model().objects.create_user(f"bench-{run}", password=None)
        course = course_services.course_create(
            code=f"BENCH{run}", title="Benchmark course", term="bench", teachers=[teacher]
        )
        first_day = date(2026, 1, 5)  # a Monday
        people = [
            student_services.student_create(
                student_number=f"B{run}-{n:04d}", full_name=f"Student {n:04d}"
            )
            for n in range(students)
        ]
        for n, student in enumerate(people):
            # A tenth join a few weeks late, to exercise the "not enrolled yet" cells.
            joined = first_day + timedelta(days=21 if n % 10 == 0 else 0)
            course_services.enrollment_create(student=student, course=course, joined_on=joined)
        weeks = (sessions + 2) // 3
        course_services.sessions_generate_weekly(
            course=course,
            first_day=first_day,
            last_day=first_day + timedelta(weeks=weeks) - timedelta(days=1),
            weekdays={0, 2, 4},
            start_time=clock(9),
            end_time=clock(10, 30),
        )
        held = list(ClassSession.objects.filter(course=course).order_by("date")[:sessions])
        ClassSession.objects.filter(course=course).exclude(pk__in=[s.pk for s in held]).delete()
        statuses, weights = zip(*STATUS_WEIGHTS.items(), strict=True)
        records = [
            AttendanceRecord(
                session=session,
                student=student,
                status=rng.choices(statuses, weights)[0],
                source=AttendanceRecord.Source.MANUAL,
                marked_by=teacher,
            )
            for session in held
            for n, student in enumerate(people)
            if not (n % 10 == 0 and session.date < first_day + timedelta(days=21))
        ]
        AttendanceRecord.objects.bulk_create(records, batch_size=2000)
        ClassSession.objects.filter(course=course).update(state=ClassSession.State.FINALIZED)
        token = Token.objects.create(user=teacher)
        login = SessionStore()
        login["_auth_user_id"] = str(teacher.pk)
        login["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        login["_auth_user_hash"] = teacher.get_session_auth_hash()
        login.create()
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load in production: fresh planner statistics.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "course": course.pk,
        "token": token.key,
        "session_cookie": login.session_key,
        "records": len(records),
        "run": run,
    }


def drop(run: str) -> None:
    """Remove what ``seed`` made for run ``run``: its course (sessions, marks and enrollments go
    with it), students and teacher, so that reruns on one database do not pile up."""
    from django.contrib.auth import get_user_model

    from attendance.models import Course, Student

    Course.objects.filter(code=f"BENCH{run}").delete()
    Student.objects.filter(student_number__startswith=f"B{run}-").delete()
    get_user_model().objects.filter(username=f"bench-{run}").delete()


def time_uncached(course_id: int, repeat: int = 7) -> dict[str, float]:
    """Median milliseconds of what a request does when the cache has nothing: the matrix alone,
    and the matrix with what the page and the API build from it (one process, no load)."""
    from attendance.api.reports import course_report_json
    from attendance.models import Course
    from attendance.selectors.reports import course_matrix
    from attendance.views.reports import matrix_page_parts

    course = Course.objects.get(pk=course_id)
    steps = {
        "matrix": lambda: course_matrix(course=course),
        "matrix + page parts": lambda: matrix_page_parts(course_matrix(course=course)),
        "matrix + API JSON": lambda: course_report_json(course_matrix(course=course)),
    }
    timings = {}
    for name, step in steps.items():
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            step()
            samples.append((time.perf_counter() - started) * 1000)
        timings[name] = statistics.median(samples)
    return timings


class Client(threading.Thread):
    """Sends its share of requests one after another and records each latency (seconds)."""

    def __init__(self, port: int, path: str, headers: dict, count: int) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.headers, self.count = port, path, headers, count
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        for _ in range(self.count):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            started = time.perf_counter()
            try:
                connection.request("GET", self.path, headers=self.headers)
                response = connection.getresponse()
                body = response.read()
            except OSError as error:
                self.errors.append(repr(error))
                continue
            finally:
                connection.close()
            self.latencies.append(time.perf_counter() - started)
            if response.status != 200:
                self.errors.append(f"{response.status}: {body[:200]!r}")


def drive(port: int, path: str, headers: dict, *, clients: int, requests: int) -> dict:
    share = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    threads = [Client(port, path, headers, n) for n in share]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies = sorted(x for t in threads for x in t.latencies)
    errors = [e for t in threads for e in t.errors]
    if not latencies:
        raise CommandError(f"every request to {path} failed: {errors[:3]}")
    return {
        "n": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "median": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
        "max": latencies[-1],
        "rps": len(latencies) / wall,
    }


class Command(BaseCommand):
    help = "Load-test the course matrix page and API report (300 x 60 course, 20 clients)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database-url", help="Default: a fresh SQLite file in a temp dir.")
        parser.add_argument("--students", type=int, default=300)
        parser.add_argument("--sessions", type=int, default=60)
        parser.add_argument("--clients", type=int, default=20)
        parser.add_argument("--requests", type=int, default=400, help="Per target.")
        parser.add_argument(
            "--workers",
            type=int,
            default=2 * (os.cpu_count() or 1) + 1,
            help="gunicorn worker processes (default: 2 x CPUs + 1, as gunicorn advises).",
        )
        parser.add_argument("--seed-only", action="store_true", help=argparse_hidden())
        parser.add_argument("--drop-run", help=argparse_hidden())
        parser.add_argument("--keep", action="store_true", help="Keep the seeded course.")

    def handle(self, *args, **options) -> None:
        if options["drop_run"]:
            drop(options["drop_run"])
            return
        if options["seed_only"]:
            info = seed(students=options["students"], sessions=options["sessions"])
            info["compute_ms"] = time_uncached(info["course"])
            self.stdout.write("BENCH " + json.dumps(info))
            return
        url = options["database_url"] or self._fresh_sqlite()
        if url.startswith(("postgres://", "postgresql://")):
            self._create_postgres_database(url)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret-key"),
            "DJANGO_SECURE_COOKIES": "0",
            "ROLLCALL_LOG_LEVEL": "WARNING",
        }
        info = self._prepare(env, options)
        port = _free_port()
        server = self._gunicorn(env, port, options["workers"])
        try:
            results = self._run(port, info, options, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
            if not options["keep"]:
                self._benchmark(env, f"--drop-run={info['run']}")
        self._report(url, info, options, results)

    def _fresh_sqlite(self) -> str:
        folder = Path(tempfile.mkdtemp(prefix="rollcall-bench-"))
        return f"sqlite:///{folder / 'bench.sqlite3'}"

    def _create_postgres_database(self, url: str) -> None:
        """Create the benchmark's database if the server does not have it yet."""
        import psycopg

        from config.env import parse_database_url

        target = parse_database_url(url)
        server = {k: target[k] for k in ("USER", "PASSWORD", "HOST", "PORT") if target[k]}
        params = {"user": "USER", "password": "PASSWORD", "host": "HOST", "port": "PORT"}
        kwargs = {name: server[key] for name, key in params.items() if key in server}
        with psycopg.connect(dbname="postgres", autocommit=True, **kwargs) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [target["NAME"]]
            ).fetchone()
            if not exists:
                name = psycopg.sql.Identifier(target["NAME"])
                connection.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(name))
                self.stdout.write(f"Created database {target['NAME']}")

    def _manage(self, env: dict, *args: str) -> str:
        return self._child(env, [str(Path(settings.BASE_DIR) / "manage.py"), *args])

    def _benchmark(self, env: dict, *args: str) -> str:
        """This benchmark again, in a child process on the benchmark's database."""
        return self._child(env, ["-m", "benchmarks", "reports", *args])

    def _child(self, env: dict, command: list[str]) -> str:
        done = subprocess.run(
            [sys.executable, *command],
            env=env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise CommandError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def _prepare(self, env: dict, options: dict) -> dict:
        self.stdout.write(f"Migrating and seeding {options['students']} x {options['sessions']}…")
        started = time.perf_counter()
        self._manage(env, "migrate", "--noinput")
        output = self._benchmark(
            env,
            "--seed-only",
            f"--students={options['students']}",
            f"--sessions={options['sessions']}",
        )
        line = next(line for line in output.splitlines() if line.startswith("BENCH "))
        info = json.loads(line.removeprefix("BENCH "))
        self.stdout.write(
            f"  seeded {info['records']} marks in {time.perf_counter() - started:.0f} s"
        )
        return info

    def _gunicorn(self, env: dict, port: int, workers: int) -> subprocess.Popen:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(
            [
                str(gunicorn),
                "--config=config/gunicorn.py",  # the same request timeout as production
                "config.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                f"--workers={workers}",
                "--backlog=256",
                "--log-level=warning",
            ],
            env=env,
            cwd=settings.BASE_DIR,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return server
            except OSError:
                if server.poll() is not None:
                    raise CommandError("gunicorn exited at start") from None
                time.sleep(0.3)
        server.terminate()
        raise CommandError("gunicorn did not start within 60 s")

    def _run(self, port: int, info: dict, options: dict, server_pid: int) -> dict:
        course = info["course"]
        targets = {
            "matrix page": (
                f"/reports/courses/{course}/",
                {"Cookie": f"sessionid={info['session_cookie']}"},
            ),
            "API report": (
                f"/api/reports/courses/{course}/",
                {"Authorization": f"Token {info['token']}", "Accept": "application/json"},
            ),
        }
        results = {}
        for name, (path, headers) in targets.items():
            # Warm up every worker (imports, connections) before measuring.
            drive(port, path, headers, clients=options["workers"], requests=options["workers"] * 3)
            self.stdout.write(f"Driving {name}: {path}")
            cpu_before, client_before = _workers_cpu_seconds(server_pid), _own_cpu_seconds()
            results[name] = drive(
                port, path, headers, clients=options["clients"], requests=options["requests"]
            )
            n = max(results[name]["n"], 1)
            cpu = _workers_cpu_seconds(server_pid) - cpu_before
            results[name]["cpu_ms"] = cpu * 1000 / n
            results[name]["client_cpu_ms"] = (_own_cpu_seconds() - client_before) * 1000 / n
        return results

    def _report(self, url: str, info: dict, options: dict, results: dict) -> None:
        engine = url.split(":", 1)[0]
        self.stdout.write(
            f"\n{options['students']} students x {options['sessions']} sessions "
            f"({info['records']} marks), {engine}, gunicorn {options['workers']} workers, "
            f"{options['clients']} concurrent clients, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f} at the end\n"
        )
        header = f"| {'target':<12} | {'requests':>8} | {'errors':>6} | {'median ms':>9} | "
        header += f"{'p95 ms':>7} | {'max ms':>7} | {'req/s':>6} | {'server CPU ms/req':>17} | "
        header += f"{'client CPU ms/req':>17} |"
        self.stdout.write(header)
        self.stdout.write("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
        for name, r in results.items():
            self.stdout.write(
                f"| {name:<12} | {r['n']:>8} | {r['errors']:>6} | {r['median'] * 1000:>9.0f} | "
                f"{r['p95'] * 1000:>7.0f} | {r['max'] * 1000:>7.0f} | {r['rps']:>6.1f} | "
                f"{r['cpu_ms']:>17.1f} | {r['client_cpu_ms']:>17.1f} |"
            )
            if r["errors"]:
                self.stdout.write(self.style.WARNING(f"  first error: {r['first_error']}"))
        self.stdout.write("\nWithout the cache (the first request after a change), one process:")
        for name, ms in info["compute_ms"].items():
            self.stdout.write(f"  {name:<20} {ms:>6.0f} ms median")
        slow = [name for name, r in results.items() if r["median"] >= 0.300]
        verdict = "over 300 ms median: " + ", ".join(slow) if slow else "both under 300 ms median"
        style = self.style.ERROR if slow else self.style.SUCCESS
        self.stdout.write(style(verdict))


def _own_cpu_seconds() -> float:
    """CPU seconds of this process (the load-generating clients), all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _workers_cpu_seconds(master_pid: int) -> float:
    """User + system CPU seconds used so far by gunicorn's worker processes (Linux /proc): the
    server's cost per request, whatever else the machine is doing."""
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return 0.0
    total = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS
