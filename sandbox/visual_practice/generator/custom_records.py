"""Enterprise plan: custom object records, about 0.3 per client, linking clients and organizations
N:N (a record may link this client and one seen shortly before; a client may own several)."""

from __future__ import annotations

import random
from typing import Any

from sandbox.visual_practice.generator import catalogue
from sandbox.visual_practice.generator.bundle import Bundle, Context, Record
from sandbox.visual_practice.generator.money import text as money
from sandbox.visual_practice.generator.timeline import DAY, epoch, iso


def add_custom_records(ctx: Context, rng: random.Random, bundle: Bundle, client: Record) -> None:
    types = ctx.practice.custom_objects
    if not types:
        return
    count = rng.choices((0, 1, 2), (75, 20, 5))[0]
    for _ in range(count):
        spec = rng.choice(types)
        client_ids = [client["id"]]
        if ctx.recent_clients and rng.random() < 0.4:
            other_id, other_chart = rng.choice(ctx.recent_clients)
            client_ids.append(other_id)
            bundle.charts[other_id] = other_chart
        organization_ids: list[str] = []
        for relation in spec["relations"]:
            if relation["to"] == "organizations" and rng.random() < 0.6:
                organizations = ctx.practice.organizations
                wanted = rng.randint(1, 2) if relation["kind"] == "many_to_many" else 1
                picks = rng.sample(organizations, min(len(organizations), wanted))
                organization_ids = sorted({o["id"] for o in picks})
        created = rng.randrange(max(epoch(client["created_at"]), ctx.timeline.history_start), ctx.timeline.settled)
        bundle.custom_records.append((spec["key"], {
            "id": ctx.seq.next_id(),
            "fields": {f["key"]: _value(ctx, rng, f["key"], f["type"], created) for f in spec["fields"]},
            "links": {"client_ids": client_ids, "organization_ids": organization_ids},
            "created_at": iso(created),
            "updated_at": iso(rng.randrange(created, ctx.timeline.settled)),
        }))


def _value(ctx: Context, rng: random.Random, key: str, kind: str, created: int) -> Any:
    if kind == "money":
        return money(rng.randrange(50, 5000) * 100)
    if kind == "date":
        return ctx.timeline.day(created + rng.randrange(-30, 400) * DAY)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "number":
        return rng.randint(4, 24)
    choices = {"provider": catalogue.PROPERTY_VALUES["Insurance Provider"][:-1], "item": catalogue.LOANED_ITEMS,
               "program": catalogue.PROGRAMS}
    if key in choices:
        return rng.choice(choices[key])
    return f"{key[:3].upper()}-{rng.randrange(10**6, 10**7)}"
