"""What the generated OpenAPI schema says beyond the views' own annotations (SPEC §7)."""

from __future__ import annotations

from django.utils.translation import gettext as _


def document_list_errors(result, generator, request, public):
    """Every paginated list also answers 400 ``{field: [messages]}`` for a filter value it cannot
    read and 404 ``{"detail": message}`` for a page past the last one. The filter backend and the
    page-number pagination give these answers, not the views, so the schema learns them here."""
    errors = {
        "400": {
            "description": _("Invalid input: messages per field name."),
            "content": {
                "application/json": {"schema": {"type": "object", "additionalProperties": {}}}
            },
        },
        "404": {
            "description": _("No such page of the list."),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Detail"}}},
        },
    }
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            parameters = operation.get("parameters", []) if isinstance(operation, dict) else []
            if any(p.get("in") == "query" and p.get("name") == "page" for p in parameters):
                for code, response in errors.items():
                    operation["responses"].setdefault(code, response)
    return result


def document_empty_filters(result, generator, request, public):
    """An optional query parameter sent empty (``?status=``, as a search form sends "All") means
    "not given": filters and ``as_of`` read it so. Only the page number refuses it (404)."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if (
                    parameter.get("in") == "query"
                    and parameter.get("name") != "page"
                    and not parameter.get("required")
                ):
                    parameter["allowEmptyValue"] = True
    return result
