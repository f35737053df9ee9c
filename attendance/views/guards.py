"""Who may open a page, beyond being signed in."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from attendance.selectors.access import is_admin


def admin_required(view):
    """Staff only. Anyone else gets 404, as for anything outside their reach."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_admin(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper
