"""What a write accepts as its body: JSON, a form, or a real multipart form — never garbage read
as "no fields" (RELIABILITY R38, negative data)."""

from __future__ import annotations

import pytest

from clients.models import Interaction

BOUNDARY = "9cc651cd2c8d168349f50fede4c361ac"


@pytest.mark.parametrize(
    "body",
    [
        f"False--{BOUNDARY}--\r\n",  # no opening boundary
        f"--{BOUNDARY}\r\nFalse--{BOUNDARY}--\r\n",  # a part with neither headers nor an end
    ],
)
def test_a_body_that_is_not_multipart_is_refused(as_role, body):
    director = as_role("director")

    response = director.generic(
        "POST",
        "/api/v1/kpi/recompute/",
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "Тело запроса — не форма multipart."}


def test_a_real_multipart_form_is_read(as_role, world):
    manager = as_role("manager")
    before = Interaction.objects.count()

    response = manager.post(
        "/api/v1/interactions/",
        {
            "client": world.acme.pk,
            "kind": "call_out",
            "outcome": "reached",
            "duration_min": 5,
            "summary": "Договорились о встрече",
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    assert Interaction.objects.count() == before + 1


def test_an_empty_multipart_form_is_an_empty_form(as_role):
    director = as_role("director")

    response = director.post("/api/v1/kpi/recompute/", {}, format="multipart")

    assert response.status_code == 202
