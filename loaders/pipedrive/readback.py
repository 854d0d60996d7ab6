"""Read back what a create may have made: list reads (never per-record searches) and identities.

`identity_of_body` and `identity_of_record` give the same tuple for the body sent and the record
Pipedrive returns, so an in-doubt create is recognised on resume (sequence.Step.identity).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Iterable, Mapping

from loaders.pipedrive.fields import FieldCatalogue
from loaders.pipedrive.sequence import Step

if TYPE_CHECKING:
    from loaders.pipedrive.client import PipedriveClient

DEAL_IDS_PER_LIST = 100  # GET /deals/products takes up to 100 deal ids


def _norm(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict) and "value" in value:  # v1 links come back as {value: id, name: ...}
        value = value["value"]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    # A time sent as HH:MM may come back as HH:MM:SS.
    if len(text) == 8 and text[2] == ":" and text[5] == ":" and text.endswith(":00"):
        text = text[:5]
    return text


def identity_of_body(step: Step, body: Mapping[str, Any], catalogue: FieldCatalogue | None) -> tuple[str | None, ...]:
    out = []
    for name in step.identity:
        if name.startswith("cf:"):
            assert catalogue is not None
            out.append(_norm((body.get("custom_fields") or {}).get(catalogue.key(name[3:]))))
        else:
            out.append(_norm(body.get(name)))
    return tuple(out)


def identity_of_record(step: Step, record: Mapping[str, Any], catalogue: FieldCatalogue | None) -> tuple[str | None, ...]:
    out = []
    for name in step.identity:
        if name.startswith("cf:"):
            assert catalogue is not None
            key = catalogue.key(name[3:])
            custom = record.get("custom_fields")
            out.append(_norm(custom.get(key) if isinstance(custom, dict) else record.get(key)))
        else:
            out.append(_norm(record.get(name)))
    return tuple(out)


async def records(client: "PipedriveClient", step: Step, bodies: Iterable[Mapping[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    """Every record of the step's object that could be one of `bodies` (list reads, 500 a page)."""
    if step.name == "organization_relationships":
        seen: set[int] = set()
        for org_id in sorted({int(b["rel_owner_org_id"]) for b in bodies}):
            async for rel in client.list("organizationRelationships", org_id=org_id):
                if rel["id"] not in seen:
                    seen.add(rel["id"])
                    yield {**rel, "rel_owner_org_id": _norm(rel.get("rel_owner_org_id")),
                           "rel_linked_org_id": _norm(rel.get("rel_linked_org_id"))}
    elif step.name == "deal_products":
        deals = sorted({int(b["deal_id"]) for b in bodies})
        for i in range(0, len(deals), DEAL_IDS_PER_LIST):
            async for item in client.list_path("/api/v2/deals/products", deal_ids=deals[i:i + DEAL_IDS_PER_LIST]):
                yield item
    else:
        async for record in client.list(step.obj):
            yield record
