"""Pages of the app. Each views module owns its ``urlpatterns``; this file only joins them."""

from attendance.views import captures, core, files, jobs, reports

app_name = "attendance"
urlpatterns = (
    core.urlpatterns
    + files.urlpatterns
    + captures.urlpatterns
    + jobs.urlpatterns
    + reports.urlpatterns
)
