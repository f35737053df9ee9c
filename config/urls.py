from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from attendance.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("api/", include("attendance.api.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("", include("attendance.urls")),
]
