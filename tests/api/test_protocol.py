"""A strict, predictable protocol: unknown query parameters and page sizes are refused with a 400
naming what is allowed, every error under /api/ is JSON in the one error shape, a missing
trailing slash is named (never a redirect that drops a POST's body), and GET /api/ lists it all."""

from __future__ import annotations

import re

import pytest

from attendance.models import Course

pytestmark = pytest.mark.django_db


def error(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]


def test_an_unknown_filter_is_a_400_naming_the_allowed_ones(clients, alices):
    # Today's bug: faces have no student filter, and ?student= returned every face.
    response = clients["alice"].get(f"/api/faces/?student={alices.student.pk}")

    assert response.status_code == 400
    body = error(response)
    assert body["code"] == "invalid"
    assert body["fields"]["student"] == [
        "Unknown parameter; this list takes capture, session, decision, page, page_size, format."
    ]


def test_an_ordering_parameter_is_refused_as_no_list_takes_one(clients, alices):
    response = clients["alice"].get("/api/records/?ordering=-marked_at")

    assert response.status_code == 400
    assert "ordering" in error(response)["fields"]


def test_known_filters_still_filter(clients, alices):
    response = clients["alice"].get(f"/api/faces/?capture={alices.capture.pk}&page_size=1")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [alices.face.pk]


@pytest.mark.parametrize("size", ["0", "501", "-1", "ten", "1.5"])
def test_a_page_size_outside_1_to_500_is_a_400(clients, alices, size):
    response = clients["alice"].get(f"/api/courses/?page_size={size}")

    assert response.status_code == 400
    assert error(response)["fields"] == {"page_size": ["Must be a whole number from 1 to 500."]}


@pytest.mark.parametrize("size", ["1", "500"])
def test_page_sizes_at_the_limits_are_fine(clients, alices, size):
    assert clients["alice"].get(f"/api/courses/?page_size={size}").status_code == 200


def test_each_lists_filters_are_in_the_schema_and_nothing_more(clients, alices):
    from attendance.api import filters

    schema = clients["alice"].get("/api/schema/", HTTP_ACCEPT="application/json").json()
    expected = {
        "/api/courses/": filters.CourseFilter,
        "/api/students/": filters.StudentFilter,
        "/api/enrollments/": filters.EnrollmentFilter,
        "/api/sessions/": filters.SessionFilter,
        "/api/photos/": filters.PhotoFilter,
        "/api/captures/": filters.CaptureFilter,
        "/api/faces/": filters.FaceFilter,
        "/api/records/": filters.RecordFilter,
    }
    for path, filterset in expected.items():
        documented = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert documented == {*filterset.base_filters, "page", "page_size"}, path


def test_the_api_root_lists_the_resources_and_the_docs(clients):
    response = clients["anonymous"].get("/api/")

    assert response.status_code == 200
    body = response.json()
    assert set(body["resources"]) == {
        "courses", "students", "enrollments", "sessions", "photos", "captures", "faces",
        "records", "webhooks", "face-models",
    }  # fmt: skip
    assert body["resources"]["captures"] == "http://testserver/api/captures/"
    assert body["docs"] == "http://testserver/api/docs/"
    assert body["schema"] == "http://testserver/api/schema/"


@pytest.mark.parametrize("path", ["/api/nothing/", "/api/courses/abc/", "/api/a/b/c"])
def test_an_unknown_url_is_a_json_404(clients, path):
    response = clients["alice"].get(path)

    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_a_wrong_method_is_a_json_405(clients, alices):
    response = clients["alice"].put(f"/api/courses/{alices.course.pk}/", {}, format="json")

    assert response.status_code == 405
    assert error(response)["code"] == "method_not_allowed"


def test_an_unsupported_media_type_is_a_json_415(clients, alices):
    response = clients["admin"].post("/api/courses/", "code=X", content_type="text/plain")

    assert response.status_code == 415
    assert error(response)["code"] == "unsupported_media_type"


def test_a_post_without_the_trailing_slash_is_a_404_naming_the_right_url_not_a_redirect(
    clients, alices
):
    response = clients["admin"].post(
        "/api/courses", {"code": "PHY1", "title": "Physics", "term": "2026-fall"}, format="json"
    )

    assert response.status_code == 404  # Django's APPEND_SLASH would answer 301 (or 500 in DEBUG)
    assert re.search(r"did you mean /api/courses/ ", error(response)["message"])
    assert not Course.objects.filter(code="PHY1").exists()


def test_a_session_post_to_an_unknown_url_is_a_json_404_not_a_csrf_page(client, alice):
    client.force_login(alice)
    response = client.post("/api/sessions/1/nope/", {"x": 1})

    assert response.status_code == 404
    assert error(response)["code"] == "not_found"
