"""The text of each kind of notification, rendered in the reader's language when shown."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.utils import formats
from django.utils.translation import gettext as _

from inbox.models import Notification, NotificationKind


def _day(value) -> str:
    try:
        return formats.date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT")
    except (TypeError, ValueError):
        return ""


def _money(value) -> str:
    try:
        amount = Decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        return ""
    return formats.number_format(amount, decimal_pos=0, use_l10n=True, force_grouping=True)


def _client_assigned(n: Notification, p: dict) -> str:
    reason = p.get("reason")
    values = {
        "client": n.client.name if n.client else "",
        "previous": p.get("previous", ""),
        "due": _day(p.get("welcome_due")),
    }
    if reason == "return":
        values |= {"ended": _day(p.get("free_month_ended")), "fee": _money(p.get("fee"))}
        if values["ended"]:
            return (
                _(
                    "«%(client)s» came back from the win-back queue and is now yours: the free "
                    "month ended on %(ended)s, the fee is %(fee)s ₽ a month. Make the welcome call "
                    "by %(due)s."
                )
                % values
            )
        return (
            _(
                "«%(client)s» came back from the win-back queue and is now yours: the fee is "
                "%(fee)s ₽ a month. Make the welcome call by %(due)s."
            )
            % values
        )
    if reason == "dismissal":
        return (
            _(
                "«%(client)s» is now yours: %(previous)s has left the company. Make the welcome "
                "call by %(due)s."
            )
            % values
        )
    if reason == "initial":
        return (
            _(
                "«%(client)s» is a new client in your book, recorded by %(previous)s. Make the "
                "welcome call by %(due)s."
            )
            % values
        )
    if reason == "handover":
        return (
            _(
                "«%(client)s» is now yours after a sale by %(previous)s. Make the welcome call by "
                "%(due)s."
            )
            % values
        )
    return (
        _("«%(client)s» is now yours (was with %(previous)s). Make the welcome call by %(due)s.")
        % values
    )


def _refusal_requested(n: Notification, p: dict) -> str:
    return _("%(by)s asks to refuse «%(topic)s» of «%(client)s»: %(reason)s") % {
        "by": p.get("by", ""),
        "topic": p.get("topic", ""),
        "client": n.client.name if n.client else "",
        "reason": p.get("reason", ""),
    }


def _refusal_approved(n: Notification, p: dict) -> str:
    return _("%(by)s approved refusing «%(topic)s» of «%(client)s».") % {
        "by": p.get("by", ""),
        "topic": p.get("topic", ""),
        "client": n.client.name if n.client else "",
    }


def _refusal_rejected(n: Notification, p: dict) -> str:
    values = {
        "by": p.get("by", ""),
        "topic": p.get("topic", ""),
        "client": n.client.name if n.client else "",
        "comment": p.get("comment", ""),
    }
    if values["comment"]:
        return _("%(by)s rejected refusing «%(topic)s» of «%(client)s»: %(comment)s") % values
    return _("%(by)s rejected refusing «%(topic)s» of «%(client)s».") % values


def _task_given(n: Notification, p: dict) -> str:
    values = {"by": p.get("by", ""), "title": p.get("title", ""), "due": _day(p.get("due_on"))}
    if n.client:
        return _("%(by)s gave you a task for «%(client)s», due %(due)s: %(title)s") % (
            values | {"client": n.client.name}
        )
    return _("%(by)s gave you a task, due %(due)s: %(title)s") % values


def _free_month_ending(n: Notification, p: dict) -> str:
    return _(
        "The free month of «%(client)s» ends on %(ends)s: agree the return or close the case."
    ) % {
        "client": n.client.name if n.client else "",
        "ends": _day(p.get("ends_on")),
    }


def _referral_given(n: Notification, p: dict) -> str:
    return _("%(by)s gave you the lead «%(lead)s» (recommended by «%(referrer)s»).") % {
        "by": p.get("by", ""),
        "lead": p.get("lead", ""),
        "referrer": n.client.name if n.client else "",
    }


def _thank_referrer(n: Notification, p: dict) -> str:
    return _(
        "«%(client)s» became a client on the recommendation of «%(referrer)s»: thank them by "
        "%(due)s."
    ) % {
        "client": p.get("new_client", ""),
        "referrer": n.client.name if n.client else "",
        "due": _day(p.get("due_on")),
    }


_TEXTS = {
    NotificationKind.CLIENT_ASSIGNED: _client_assigned,
    NotificationKind.REFUSAL_REQUESTED: _refusal_requested,
    NotificationKind.REFUSAL_APPROVED: _refusal_approved,
    NotificationKind.REFUSAL_REJECTED: _refusal_rejected,
    NotificationKind.TASK_GIVEN: _task_given,
    NotificationKind.FREE_MONTH_ENDING: _free_month_ending,
    NotificationKind.REFERRAL_GIVEN: _referral_given,
    NotificationKind.THANK_REFERRER: _thank_referrer,
}


def notification_text(notification: Notification) -> str:
    render = _TEXTS.get(notification.kind)
    if render is None:
        return notification.get_kind_display()
    return render(notification, notification.params or {})
