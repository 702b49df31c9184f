"""Name templates: which names a container gets, as text with fields (pure; no I/O).

``--name-template '{service}.{project}'`` gives a Compose container
``web.shop.<zone>``. A template is checked once, at start-up, against sample
values (``check``): an unknown field, a result with no name in it or one
outside the zone is a usage error then, never a surprise per event. Per
container, a template with a field the container lacks (``{service}``
without Compose labels) gives no name for it; values are the container's own
and so untrusted: the result goes through the same repair and full-string
checks as a hostname (``naming.place_name``), so a value can bring in only
letters, digits, ``-``, ``_`` and dots, and a bad one is said, not used.

Where the result lies: text ending in ``.`` is a full name; otherwise it is
relative to the zone, unless a *value* brought a dot in (a hostname such as
``web1.docker.test``): then, as for hostnames before templates existed, it
is a full name that must lie inside the zone.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

import dns.name

from dockernet.errors import UsageError
from dockernet.logformat import printable
from dockernet.publish.naming import NameDecision, place_name, repair_label, source_name

#: every field a template may use; see ``container_fields`` for where each comes from
FIELDS = ("hostname", "name", "service", "project", "number", "network", "id")
#: fields that differ between the replicas of one service: a template without them names the service
PER_CONTAINER = frozenset({"hostname", "name", "number", "id"})
#: what today's behaviour is: the hostname, or the container's name when Docker made the hostname up
DEFAULT_TEMPLATES = ("{hostname}",)
#: the Compose service name, published unless --no-compose-names
COMPOSE_TEMPLATE = "{service}.{project}"


class TemplateError(UsageError):
    """A name template cannot be used."""


@dataclass(frozen=True)
class NameTemplate:
    """A parsed template: literal text and field names, in order."""

    text: str
    #: (literal text, field name or "") pairs, as ``string.Formatter.parse`` splits them
    parts: tuple[tuple[str, str], ...]
    #: the fields used (kept, not derived per call: templates are applied on every event)
    fields: frozenset[str] = frozenset()
    #: whether the replicas of one service all get this name (a round-robin name)
    names_service: bool = False

    def render(self, values: Mapping[str, str]) -> tuple[str, bool] | None:
        """``(text, full)`` for these values, or None when the container lacks a field.

        ``full``: the text is a full name (it ends in a dot, or a value had a
        dot in it). Nothing is checked here: ``naming.place_name`` matches
        every label of the result whole, so a value cannot bring in more
        than letters, digits, ``-``, ``_`` and dots.
        """
        pieces = []
        full = self.text.endswith(".")
        for literal, field in self.parts:
            pieces.append(literal)
            if field:
                value = values.get(field) or ""
                if not value:
                    return None
                full = full or "." in value
                pieces.append(value)
        return "".join(pieces), full

    def name_for(self, values: Mapping[str, str], zone: dns.name.Name) -> NameDecision | None:
        """The name these values give in ``zone`` (None: the container lacks a field, no remark due)."""
        rendered = self.render(values)
        if rendered is None:
            return None
        text, full = rendered
        return place_name(text, zone, full)


def parse(text: str) -> NameTemplate:
    """Split a template into literal text and fields; raises ``TemplateError`` for what it cannot take."""
    shown = printable(text)
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"name template '{shown}': {exc}", hint="write fields as {name}, braces as {{ }}") from None
    parts = []
    for literal, field, spec, conversion in pieces:
        if field is not None and field in FIELDS and (spec or conversion):
            raise TemplateError(
                f"name template '{shown}': '{{{printable(field)}}}' takes no format or conversion",
                hint=f"write {{{field}}}",
            )
        if field is not None and field not in FIELDS:
            raise TemplateError(
                f"name template '{shown}' has an unknown field '{{{printable(field)}}}'",
                hint="fields are " + ", ".join("{" + name + "}" for name in FIELDS),
            )
        parts.append((literal, field or ""))
    fields = frozenset(field for _, field in parts if field)
    return NameTemplate(text, tuple(parts), fields, "service" in fields and not fields & PER_CONTAINER)


#: sample values for ``check``: one plain label each, as a container with every field would give
_SAMPLE = {field: "x" + field for field in FIELDS}


def check(text: str, zone: dns.name.Name) -> NameTemplate:
    """Parse a template and make sure it can give a name in ``zone``; ``TemplateError`` says why not."""
    template = parse(text)
    rendered_full = template.render(_SAMPLE)
    assert rendered_full is not None  # every field has a sample value
    rendered, _ = rendered_full
    if not rendered.strip("."):
        raise TemplateError(
            f"name template '{printable(text)}' gives an empty name", hint="use at least one field, e.g. {hostname}"
        )
    decision = template.name_for(_SAMPLE, zone)
    assert decision is not None  # as above: no field is missing
    if decision.skipped:
        raise TemplateError(
            f"name template '{printable(text)}' gives no usable name in {zone} "
            f"(tried with sample values): {decision.note}"
        )
    return template


def check_all(texts: tuple[str, ...], zone: dns.name.Name) -> tuple[NameTemplate, ...]:
    """Every template of the command line, checked at start-up (the defaults when none was given)."""
    return tuple(check(text, zone) for text in (texts or DEFAULT_TEMPLATES))


#: the labels Compose sets on the containers it makes
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_NUMBER = "com.docker.compose.container-number"
#: set to "True" on the containers of ``docker-compose run``: not replicas of the service
COMPOSE_ONEOFF = "com.docker.compose.oneoff"


def container_fields(hostname: str, name: str, short_id: str, labels: Mapping[str, str]) -> dict[str, str]:
    """The values of a container's fields ({network} is added per network by the caller).

    ``{hostname}`` is what naming used before templates: the hostname, or the
    container's name when Docker made the hostname up (its short id). A
    ``docker-compose run`` container is not one of its service's containers:
    it has no Compose fields, so it gets no service name and joins no replicas.
    """
    fields = {"hostname": source_name(hostname, name, short_id), "name": name.lstrip("/"), "id": short_id[:12]}
    if labels.get(COMPOSE_ONEOFF, "").lower() == "true":
        return fields
    for field, label in (("project", COMPOSE_PROJECT), ("service", COMPOSE_SERVICE), ("number", COMPOSE_NUMBER)):
        value = labels.get(label, "")
        if value:
            fields[field] = value
    return fields


def service_group(fields: Mapping[str, str]) -> str:
    """The token that marks a Compose service's shared names (``web.shop``), or "" when there is none.

    It goes into the ownership mark, so it is made of two repaired host-name
    labels or nothing at all.
    """
    service = repair_label(fields.get("service", ""))
    project = repair_label(fields.get("project", ""))
    return f"{service}.{project}" if service and project else ""
