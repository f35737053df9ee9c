"""Pages of the app. Each views module owns its ``urlpatterns``; this file only joins them."""

from attendance.views import captures, core, files, reports, tokens

app_name = "attendance"
urlpatterns = (
    core.urlpatterns
    + files.urlpatterns
    + captures.urlpatterns
    + reports.urlpatterns
    + tokens.urlpatterns
)
