"""Guessing passwords stops working. After ROLLCALL_LOGIN_FAILURE_LIMIT (5) wrong passwords for
one account, or from one address, sign-in is locked for ROLLCALL_LOGIN_COOLOFF_MINUTES (15) on the
login page and the admin login alike (the fifth failure already answers with the lockout). The
person is told when to try again; admins see attempts and lockouts in the admin, and every attempt
is kept."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def axes_models():
    """Imported when used, so that this file also runs (and fails) where Axes is not installed."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    return AccessAttempt, AccessFailureLog, AccessLog


def sign_in(client, username: str, password: str, *, address="10.0.0.1", url=LOGIN):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in_as(client) -> str | None:
    response = client.get(reverse("attendance:home"))
    return None if response.status_code == 302 else response.context["user"].username


def test_fifty_wrong_passwords_lock_the_account_and_the_right_one_no_longer_works(client, alice):
    answers = [sign_in(client, "alice", f"guess-{n}").status_code for n in range(50)]

    assert answers[:4] == [200] * 4  # the form again, "didn't match"
    assert set(answers[4:]) == {429}  # the fifth failure locks
    assert sign_in(client, "alice", "alice-pass-1").status_code == 429
    assert signed_in_as(client) is None


def test_the_locked_out_person_is_told_when_to_try_again(client, alice):
    for n in range(5):
        sign_in(client, "alice", f"guess-{n}")

    response = sign_in(client, "alice", "alice-pass-1")

    body = response.content.decode()
    assert response.status_code == 429
    assert "Sign-in locked for now" in body
    assert "paused for 15 minutes" in body
    assert "Try again after" in body
    assert int(response["Retry-After"]) == 15 * 60


def test_the_admin_login_is_locked_the_same_way(client, admin_user):
    answers = [
        sign_in(client, "admin", f"guess-{n}", url=ADMIN_LOGIN).status_code for n in range(6)
    ]

    assert answers == [200] * 4 + [429, 429]
    assert sign_in(client, "admin", "admin-pass-1", url=ADMIN_LOGIN).status_code == 429
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_a_lock_on_alices_account_holds_whatever_address_the_guesses_come_from(client, alice):
    for n in range(5):
        sign_in(client, "alice", f"guess-{n}", address=f"10.0.1.{n}")

    assert sign_in(client, "alice", "alice-pass-1", address="10.0.2.99").status_code == 429


def test_one_address_guessing_many_accounts_is_locked_but_others_sign_in(client, alice, bob):
    for n in range(5):
        sign_in(client, f"user{n}", "guess", address="10.6.6.6")

    assert sign_in(client, "bob", "bob-pass-1", address="10.6.6.6").status_code == 429
    assert sign_in(client, "alice", "alice-pass-1", address="10.0.0.7").status_code == 302


def test_alice_signs_in_again_once_the_cool_off_has_passed(client, alice):
    AccessAttempt, AccessFailureLog, AccessLog = axes_models()
    for n in range(5):
        sign_in(client, "alice", f"guess-{n}")
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    assert sign_in(client, "alice", "alice-pass-1").status_code == 302
    assert signed_in_as(client) == "alice"


def test_a_few_typos_then_the_right_password_signs_in_and_resets_the_count(client, alice):
    AccessAttempt, AccessFailureLog, AccessLog = axes_models()
    for n in range(4):
        sign_in(client, "alice", f"typo-{n}")

    assert sign_in(client, "alice", "alice-pass-1").status_code == 302
    assert not AccessAttempt.objects.filter(username="alice").exists()


def test_admins_see_the_lockout_and_every_attempt_is_kept(client, alice, admin_user):
    AccessAttempt, AccessFailureLog, AccessLog = axes_models()
    for n in range(5):
        sign_in(client, "alice", f"guess-{n}", address="10.9.9.9")
    sign_in(client, "bob", "whatever", address="10.0.0.3")

    attempt = AccessAttempt.objects.get(username="alice")
    assert (attempt.ip_address, attempt.failures_since_start) == ("10.9.9.9", 5)
    assert AccessFailureLog.objects.filter(username="alice").count() == 5
    client.force_login(admin_user)
    page = client.get("/admin/axes/accessattempt/?locked_out=yes").content.decode()
    assert "alice" in page and "10.9.9.9" in page
    # Whole words: the page's random CSRF token once held "...dtbobaH..." and failed the check.
    assert not re.search(r"\bbob\b", page) and "10.0.0.3" not in page


def test_a_successful_sign_in_is_in_the_access_log(client, alice):
    AccessAttempt, AccessFailureLog, AccessLog = axes_models()
    sign_in(client, "alice", "alice-pass-1", address="10.0.0.5")

    assert AccessLog.objects.filter(username="alice", ip_address="10.0.0.5").count() == 1


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(client, alice, settings):
    AccessAttempt, AccessFailureLog, AccessLog = axes_models()
    settings.ROLLCALL_PROXY_COUNT = 1
    for n in range(5):
        client.post(
            LOGIN,
            {"username": f"user{n}", "password": "guess"},
            REMOTE_ADDR="172.16.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 10.6.6.6",  # the client chose the first part
        )

    assert AccessAttempt.objects.filter(ip_address="10.6.6.6").count() == 5
    assert sign_in(client, "alice", "alice-pass-1", address="172.16.0.2").status_code == 302


def test_signing_in_to_his_own_account_does_not_clear_bobs_guesses_at_alices(client, alice, bob):
    for n in range(4):
        sign_in(client, "alice", f"guess-{n}", address="10.6.6.6")
    assert sign_in(client, "bob", "bob-pass-1", address="10.6.6.6").status_code == 302
    client.logout()

    assert sign_in(client, "alice", "guess-5", address="10.6.6.6").status_code == 429
    assert sign_in(client, "alice", "alice-pass-1", address="10.0.0.7").status_code == 429
