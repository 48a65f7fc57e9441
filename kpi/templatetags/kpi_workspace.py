"""``{% my_kpis user today %}``: the workspace's KPI block, rendered by the KPI app for the
workspace page of ``clients``, which sits below ``kpi`` and so cannot import it."""

from __future__ import annotations

import datetime

from django import template

from kpi.workspace import workspace_kpis

register = template.Library()


@register.inclusion_tag("kpi/my_kpis.html")
def my_kpis(user, today: datetime.date) -> dict:
    return workspace_kpis(user, today=today)
