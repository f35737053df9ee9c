"""The REST API under /api/ (see issue #5): built in attendance/api/."""

urlpatterns: list = []
