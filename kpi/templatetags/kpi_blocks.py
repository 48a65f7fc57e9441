"""The return funnel of the lost-client queue, rendered by the KPI app for the queue page of
``retention``, which sits below ``kpi`` and so cannot import it::

    {% load kpi_blocks %}
    {% return_funnel_for user today as funnel %}   the figures, None unless the user may see them
    {% return_rate_tile funnel %}                   the return-rate tile of the queue's summary
    {% return_funnel funnel %}                      the funnel and the per-return-manager table

The two blocks stand at different places of the page and share one set of figures (three
queries), so the figures are read once and handed to each; both render nothing for None.
"""

from __future__ import annotations

import datetime

from django import template

from kpi.funnel import ReturnFunnel, return_funnel_for

register = template.Library()

FRAGMENT = "kpi/return_funnel.html"


@register.simple_tag(name="return_funnel_for")
def funnel_for(user, today: datetime.date) -> ReturnFunnel | None:
    return return_funnel_for(user, today=today)


@register.inclusion_tag(f"{FRAGMENT}#return-rate-tile")
def return_rate_tile(funnel: ReturnFunnel | None) -> dict:
    return {"funnel": funnel}


@register.inclusion_tag(f"{FRAGMENT}#return-funnel")
def return_funnel(funnel: ReturnFunnel | None) -> dict:
    return {"funnel": funnel}
