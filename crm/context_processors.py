"""Template context shared by every page."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from inbox.selectors import unread_count
from staff.models import Capability

# (url name, label, the capability its page asks; None: every signed-in person). A link is shown
# only where the page would let the user in, because both ask the same ``User.can``.
_NAV = (
    ("kpi:dashboard", _("Dashboard"), Capability.KPI_VIEW),
    ("clients:my", _("My workspace"), Capability.WORKSPACE),
    ("clients:list", _("Clients"), None),
    ("referrals:board", _("Referrals"), Capability.REFERRAL_WORK),
    ("retention:queue", _("Lost clients"), Capability.CASE_WORK),
    ("team:team", _("Team"), Capability.TEAM_LEAD),
    ("planner:page", _("Planner"), Capability.PLANNER_VIEW),
)


def nav_items_for(user, path: str = "") -> list[dict]:
    """The menu entries ``user``'s role may open; ``active`` marks the one ``path`` is under."""
    if user is None or not user.is_authenticated:
        return []
    items = []
    for url_name, label, capability in _NAV:
        if capability is not None and not user.can(capability):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            # The pages are built app by app; a page whose URL is not mounted yet is left out of
            # the menu instead of breaking every page.
            continue
        items.append({"key": url_name.replace(":", "-"), "url": url, "label": label})
    # The longest matching prefix wins, so /clients/ does not light up on a deeper page of
    # another entry that happens to share it.
    matches = [item for item in items if path.startswith(item["url"])]
    current = max(matches, key=lambda item: len(item["url"]), default=None)
    for item in items:
        item["active"] = item is current
    return items


def navigation(request):
    return {"nav_items": nav_items_for(getattr(request, "user", None), request.path)}


def notifications(request):
    """The header bell's unread count: one indexed count per page, for signed-in people only."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": unread_count(user)}
