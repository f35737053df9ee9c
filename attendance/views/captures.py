"""Capture pages: upload or webcam, live progress, review of faces (issue #4)."""

urlpatterns: list = []
