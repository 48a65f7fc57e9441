"""A confirmation step before an irreversible action (SPEC §11), on the server's side.

A form that needs one carries ``data-confirm="<question>"`` (and optionally
``data-confirm-action="<button label>"``) and its page includes ``partials/confirm_dialog.html``:
with JavaScript, a ``<dialog>`` asks the question and the form is sent with ``confirmed=1``. The
view asks ``confirmation_page`` first thing after its own permission checks::

    page = confirmation_page(request, question=..., cancel_url=..., action_label=...)
    if page is not None:
        return page
    ...perform the action...

so a post without ``confirmed=1`` (no JavaScript, a stale page, a forged request) changes nothing
and gets a second page asking the same question, which re-posts the same fields once confirmed.
The API does not ask: calling it is the confirmation.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

CONFIRMED_FIELD = "confirmed"
CONFIRM_PAGE = "partials/confirm_page.html"
# A fresh token goes into the second page; the one the first form carried is not repeated.
_NOT_REPOSTED = frozenset({CONFIRMED_FIELD, "csrfmiddlewaretoken"})


def confirmation_page(
    request: HttpRequest, *, question: str, cancel_url: str, action_label: str = ""
) -> HttpResponse | None:
    """None when the post is confirmed (``confirmed=1``); otherwise the second page asking
    ``question``, with every posted field re-posted to the same address, a button labelled
    ``action_label`` (default "Confirm") and a "Cancel" link to ``cancel_url``."""
    if request.POST.get(CONFIRMED_FIELD) == "1":
        return None
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in _NOT_REPOSTED
        for value in values
    ]
    response = render(
        request,
        CONFIRM_PAGE,
        {
            "question": question,
            "action_url": request.get_full_path(),
            "fields": fields,
            "action_label": action_label or _("Confirm"),
            "cancel_url": cancel_url,
        },
    )
    if request.headers.get("HX-Request") == "true":
        # An htmx form sent without the dialog (its script not loaded): the question is a whole
        # page, so it replaces the page's body instead of the fragment the form aimed at.
        response["HX-Retarget"] = "body"
        response["HX-Reswap"] = "innerHTML"
    return response
