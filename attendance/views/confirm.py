"""Destructive actions ask first. The page's own form carries a ``data-confirm`` question that
live.js asks with the browser's dialog, adding ``confirm=yes`` when the person agrees; a post
without it (no JavaScript, or any other client) gets a page asking the same question, whose Yes
button posts again with ``confirm=yes``. Nothing is changed until then."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def ask_first(
    request: HttpRequest,
    *,
    question: str,
    yes: str,
    back: str,
    fields: dict[str, str] | None = None,
) -> HttpResponse | None:
    """None when the post says ``confirm=yes``; otherwise the page that asks ``question``."""
    if request.POST.get("confirm") == "yes":
        return None
    context = {
        "question": question,
        "yes": yes,
        "action": request.path,
        "fields": fields or {},
        "back": back,
    }
    return render(request, "attendance/confirm.html", context)
