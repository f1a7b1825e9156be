"""GeoReport v2 documents in JSON and in XML, the format named by the URL's extension.

JSON follows the spec's Spark convention: a list is an array (the root of most answers), an
element an object. XML is schemaless, without namespace: a list becomes a container element
whose children are named by the singular the spec gives (`services` → `service`…), `None` an
empty element, booleans `true`/`false`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from enum import StrEnum

from gusp import errors


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


_XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot carry

MEDIA_TYPES = {Format.JSON: "application/json; charset=utf-8", Format.XML: "text/xml; charset=utf-8"}

# The name of each element of a list, by the name of the list (GeoReport v2, Service Discovery,
# mySociety's servicerequestupdates).
ITEM_NAMES = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}


def parse(value: str) -> Format:
    try:
        return Format(value.lower())
    except ValueError:
        raise errors.BadRequest(
            "format_inconnu", f"Format « {value} » inconnu : terminez l'adresse par .xml ou .json.", field="format"
        ) from None


def render(document: object, *, root: str, fmt: Format) -> bytes:
    """`document` is a list (rendered under `root`) or a dict (rendered as the element `root`)."""
    if fmt is Format.JSON:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    element = ET.Element(root)
    _fill(element, document, name=root)
    return _XML_DECLARATION + ET.tostring(element, encoding="unicode").encode()


def error_document(problems: list[tuple[int, str]]) -> list[dict[str, object]]:
    return [{"code": code, "description": description} for code, description in problems]


def _fill(element: ET.Element, value: object, *, name: str) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child, name=key)
    elif isinstance(value, list):
        item = ITEM_NAMES.get(name, "item")
        for child in value:
            _fill(ET.SubElement(element, item), child, name=item)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _NOT_XML.sub("", str(value))
