"""The dashboard's exportable tables (SPEC §6): their columns and titles. The files are written by
``core.exports``, which neutralises every text cell a spreadsheet would run as a formula."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exports import MONEY, MONTH, PERCENT, TEXT, Column

_FIGURES = (
    Column("book_start", _("Book at start")),
    Column("book", _("Book now")),
    Column("growth", _("Own growth, %"), PERCENT),
    Column("new_clients", _("New clients")),
    Column("new_referral", _("Referral clients")),
    Column("returned", _("Returned clients")),
    Column("churned", _("Lost clients")),
    Column("churned_natural", _("Natural losses")),
    Column("churn_rate", _("Churn, %"), PERCENT),
    Column("transferred_in", _("Handed in")),
    Column("transferred_out", _("Handed out")),
    Column("cases_returned", _("Cases won back")),
    Column("cases_declined", _("Cases declined")),
    Column("return_rate", _("Return rate, %"), PERCENT),
    Column("mrr", _("Monthly revenue, ₽"), MONEY),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "months": (
        Column("month", _("Month"), MONTH),
        Column("base_start", _("Base at start")),
        Column("new_clients", _("New clients")),
        Column("new_referral", _("of them by referral")),
        Column("new_active_sales", _("of them by active sales")),
        Column("new_inbound", _("of them inbound")),
        Column("returned", _("Returned clients")),
        Column("churned", _("Lost clients")),
        Column("churned_natural", _("Natural losses")),
        Column("base_end", _("Base at end")),
        Column("plan", _("Goal plan")),
        Column("churn_rate", _("Churn in the month, %"), PERCENT),
        Column("annual_churn_rate", _("Annual churn, %"), PERCENT),
        Column("return_rate", _("Return rate in the month, %"), PERCENT),
        Column("return_rate_12m", _("Return rate, 12 months, %"), PERCENT),
        Column("mrr_end", _("Monthly revenue, ₽"), MONEY),
    ),
    "groups": (
        Column("name", _("Mentor"), TEXT),
        Column("members", _("People")),
        Column("capacity", _("Capacity")),
        Column("load", _("Load, %"), PERCENT),
        *_FIGURES,
    ),
    "managers": (
        Column("name", _("Manager"), TEXT),
        Column("group", _("Mentor group"), TEXT),
        Column("role", _("Role"), TEXT),
        Column("capacity", _("Capacity")),
        Column("load", _("Load, %"), PERCENT),
        *_FIGURES,
    ),
    "reasons": (
        Column("label", _("Reason"), TEXT),
        Column("kind", _("Kind"), TEXT),
        Column("count", _("Terminations")),
        Column("share", _("Share, %"), PERCENT),
    ),
}

TABLE_TITLES = {
    "months": _("By month"),
    "groups": _("Mentor groups"),
    "managers": _("Managers"),
    "reasons": _("Churn reasons"),
}
