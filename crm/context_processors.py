"""Template context shared by every page."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from staff.models import Role

# (url name, label, roles that see it). A link is shown only where the page would let the user in;
# the views check again, this only keeps the menu honest.
_NAV = (
    ("kpi:dashboard", _("Dashboard"), {Role.DIRECTOR, Role.MENTOR}),
    ("clients:my", _("My workspace"), {Role.CLIENT_MANAGER, Role.MENTOR, Role.SALES_MANAGER}),
    ("clients:list", _("Clients"), set(Role)),
    ("retention:queue", _("Lost clients"), {Role.DIRECTOR, Role.RETURN_MANAGER}),
    ("staff:team", _("Team"), {Role.DIRECTOR, Role.MENTOR}),
)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for url_name, label, roles in _NAV:
        if user.role in roles:
            url = reverse(url_name)
            items.append({"url": url, "label": label, "active": request.path.startswith(url)})
    return {"nav_items": items}
