"""/inbox/ and the header bell (SPEC §11)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from inbox.models import Notification
from inbox.selectors import notifications_for, unread_count
from inbox.services import notification_open, notifications_mark_all_read
from inbox.texts import notification_text

PER_PAGE = 30


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(notifications_for(request.user), PER_PAGE).get_page(request.GET.get("page"))
    items = [(n, notification_text(n)) for n in page.object_list]
    return render(
        request,
        "inbox/inbox.html",
        {"page": page, "items": items, "unread": unread_count(request.user)},
    )


@require_GET
@login_required
def bell(request: HttpRequest) -> HttpResponse:
    """The bell alone, for htmx to refresh it in place."""
    return render(request, "inbox/bell.html", {"unread_notifications": unread_count(request.user)})


@require_GET
@login_required
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = notification_open(request.user, pk)
    except Notification.DoesNotExist:
        raise Http404 from None
    target = notification.url
    if not target or not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect("inbox:inbox")
    return redirect(target)


@require_POST
@login_required
def read_all(request: HttpRequest) -> HttpResponse:
    notifications_mark_all_read(request.user)
    return redirect("inbox:inbox")
