"""What every API endpoint shares: the one exception handler, role permissions, request-scoped
foreign keys and fail-open throttles (SPEC §7, STYLE "API").

Errors keep one shape: 400 ``{field: [messages]}``, 401/403/404/409/429 ``{"detail": message}``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models
from django.db.models import Model, QuerySet
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from redis.exceptions import RedisError
from rest_framework import authentication, exceptions, parsers, serializers, status, throttling
from rest_framework.permissions import BasePermission
from rest_framework.settings import api_settings

from core.errors import Conflict, QueueUnavailable

logger = logging.getLogger(__name__)


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The action conflicts with the current state. Reload and try again.")
    default_code = "conflict"


class ServiceUnavailableError(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The task queue is unavailable. Try again later.")
    default_code = "queue_unavailable"


def _validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field: messages
            for field, messages in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def exception_handler(exc, context):
    """DRF's handler, taught the domain's exceptions: a service's ``ValidationError`` is a 400 with
    field messages, ``Conflict`` a 409, and an ``IntegrityError`` (a database constraint that
    caught a concurrent write) a 409 instead of a 500; ``QueueUnavailable`` (Redis down) a 503. ``PermissionDenied`` and ``Http404`` are
    DRF's own 403 and 404."""
    # Imported here: DRF reads this module's permission class while ``rest_framework.views``
    # itself is still being imported.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=_validation_detail(exc))
    elif isinstance(exc, Conflict):
        exc = ConflictError(exc.message)
    elif isinstance(exc, QueueUnavailable):
        exc = ServiceUnavailableError(exc.message)
    elif isinstance(exc, IntegrityError):
        logger.warning("API write refused by a database constraint: %s", exc)
        exc = ConflictError()
    return drf_exception_handler(exc, context)


# --- permissions ----------------------------------------------------------------------------


class RoleAllowed(BasePermission):
    """Capability gate per action, read from the view's ``action_capabilities``:
    ``{action: capability}``, asked of ``request.user.can`` (the role's capability set, defined
    once next to the role).

    Actions not named there are open to every authenticated user; what they see is then decided by
    the queryset (the app's ``access`` module) and by the service. A role refused here gets 403
    whatever the object id, so the answer never tells whether the object exists."""

    message = _("Your role cannot do this.")

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        capability = getattr(view, "action_capabilities", {}).get(getattr(view, "action", None))
        return capability is None or request.user.can(capability)


class InputSerializersMixin:
    # Lets OPTIONS and the browsable API's forms describe what a write accepts: on the list and
    # detail routes a POST or PATCH is described by ``input_serializer_classes[method]`` (the
    # views' own ``create``/``partial_update`` validate with the same classes). A comment, not a
    # docstring: the schema would show a docstring as every operation's description.

    input_serializer_classes: dict = {}
    _CRUD_ACTIONS = frozenset({"list", "create", "retrieve", "partial_update", "metadata"})

    def get_serializer_class(self):
        request = getattr(self, "request", None)
        if request is not None and self.action in self._CRUD_ACTIONS:
            return self.input_serializer_classes.get(request.method, self.serializer_class)
        return self.serializer_class


# --- strict strings (RELIABILITY R38) -------------------------------------------------------


class _StrictString:
    """A text field that takes only a JSON string: DRF would read ``42`` as ``"42"``, which the
    schema (``type: string``) calls invalid."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(_StrictString, serializers.CharField):
    pass


class StrictEmailField(_StrictString, serializers.EmailField):
    pass


class ModelSerializer(serializers.ModelSerializer):
    """DRF's model serializer whose text fields take only strings (``StrictCharField``)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
    }


# --- request-scoped foreign keys (RELIABILITY R05) ------------------------------------------


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key whose choices are what the caller may use: ``scope(user)`` is evaluated per
    request. An id outside it is a 400 "object does not exist", exactly like a missing id, and the
    browsable API and OPTIONS never list anyone else's objects."""

    def __init__(self, *, model: type[Model], scope: Callable[..., QuerySet], **kwargs):
        self.scope = scope
        # The empty queryset only tells the schema generator which model the id belongs to.
        super().__init__(queryset=model._default_manager.none(), **kwargs)

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        if request is None:
            return self.queryset.none()
        return self.scope(request.user)


# --- filters --------------------------------------------------------------------------------

MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An object id in a query string: a whole number the database can hold, or a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class _RawNullBooleanSelect(forms.NullBooleanSelect):
    # Django's select reads any unknown word as "no filter"; the field judges the word instead.
    def value_from_datadict(self, data, files, name):
        return data.get(name)


class _StrictNullBooleanField(forms.NullBooleanField):
    # Only true/false (or nothing) pass.
    widget = _RawNullBooleanSelect
    TRUE = frozenset({True, "true", "True", "1"})
    FALSE = frozenset({False, "false", "False", "0"})

    def to_python(self, value):
        if value in self.TRUE:
            return True
        if value in self.FALSE:
            return False
        if value in self.empty_values or value == "unknown":
            return None
        # DRF's own wording (and its translations) for a value that is not a boolean.
        message = serializers.BooleanField.default_error_messages["invalid"]
        raise forms.ValidationError(message, code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    """``true`` or ``false`` in a query string (empty: no filter), anything else a 400."""

    field_class = _StrictNullBooleanField


class _UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        # PostgreSQL takes offsets up to ±15:59 only; ISO 8601 allows more.
        try:
            return moment.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class MomentFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 timestamp in a query string, compared in UTC."""

    field_class = _UtcDateTimeField


# --- throttles (RELIABILITY R23) ------------------------------------------------------------


class _FailOpen:
    """Throttling is a convenience against runaway clients, not a security control: when the cache
    (Redis) is down, requests are let through rather than failed."""

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError):
            logger.warning("Throttle cache unavailable; request allowed.")
            return True


class UserRateThrottle(_FailOpen, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(_FailOpen, throttling.AnonRateThrottle):
    pass


class ScopedRateThrottle(_FailOpen, throttling.ScopedRateThrottle):
    pass


# --- schema helpers -------------------------------------------------------------------------

DetailSerializer = inline_serializer("Detail", fields={"detail": serializers.CharField()})

ERROR_RESPONSES = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT, description=_("Invalid input: messages per field name.")
    ),
    403: OpenApiResponse(DetailSerializer, description=_("Not allowed for your role.")),
    404: OpenApiResponse(DetailSerializer, description=_("No such object among yours.")),
    409: OpenApiResponse(DetailSerializer, description=_("Conflicts with the current state.")),
    503: OpenApiResponse(DetailSerializer, description=_("The task queue is unavailable.")),
}


def with_errors(responses: dict, *codes: int) -> dict:
    """``responses`` plus the standard error responses ``codes`` (400, 403, 404, 409)."""
    return {**responses, **{code: ERROR_RESPONSES[code] for code in codes}}


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token check, which also names the caller as the actor of the field history
    (RELIABILITY R24): DRF authenticates inside the view, after the middleware bound the
    request with no one signed in."""

    def authenticate(self, request):
        from core import field_history

        result = super().authenticate(request)
        if result is not None:
            field_history.rebind_actor(result[0].pk)
        return result


# --- request bodies -----------------------------------------------------------------------------


class _Prefixed:
    """A stream that gives back ``head`` (bytes already read to look at) before the rest."""

    def __init__(self, head: bytes, rest):
        self._head, self._rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size is None or size < 0:
            head, self._head = self._head, b""
            return head + self._rest.read()
        head, self._head = self._head[:size], self._head[size:]
        return head if len(head) == size else head + self._rest.read(size - len(head))


class StrictMultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing a body that is not multipart at all (400). Django's parser
    reads a body without its opening boundary, or with no well-formed part, as an empty form, so a
    command whose fields are all optional would accept any garbage as "no fields" (RELIABILITY R38,
    negative data). Only the first bytes are read ahead, so an upload still streams."""

    def parse(self, stream, media_type=None, parser_context=None):
        boundary = parse_header_parameters(media_type or "")[1].get("boundary", "")
        opening = b"--" + boundary.encode("latin-1", "replace")
        head = stream.read(len(opening)) if stream is not None else b""
        if not boundary or head != opening:
            raise exceptions.ParseError(_("The body is not a multipart form."))
        parsed = super().parse(_Prefixed(head, stream), media_type, parser_context)
        # A body that opens like a form but holds no well-formed part at all is garbage too (an
        # empty form is only its closing delimiter, a few bytes).
        request = (parser_context or {}).get("request")
        length = int((request.META.get("CONTENT_LENGTH") if request else 0) or 0)
        if not parsed.data and not parsed.files and length > len(opening) + 8:
            raise exceptions.ParseError(_("The body is not a multipart form."))
        return parsed
