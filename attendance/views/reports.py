"""Report pages: session sheet, course matrix, student history, CSV export (issue #5)."""

urlpatterns: list = []
