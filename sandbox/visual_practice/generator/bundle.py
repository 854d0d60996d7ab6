"""A client bundle (a client with everything that hangs off it) and what building one needs."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from sandbox.visual_practice.generator.options import GeneratorOptions
from sandbox.visual_practice.generator.practice import Practice
from sandbox.visual_practice.generator.quirks import QuirkEntry, QuirkPlan
from sandbox.visual_practice.generator.sequences import Sequences
from sandbox.visual_practice.generator.timeline import Timeline

Record = dict[str, Any]
RECENT_CLIENTS = 64  # how many earlier clients a custom object record may link to


@dataclass
class Bundle:
    records: dict[str, list[Record]] = field(default_factory=lambda: defaultdict(list))
    custom_records: list[tuple[str, Record]] = field(default_factory=list)  # (object key, record)
    deleted: list[tuple[str, str, int]] = field(default_factory=list)  # (collection, id, deleted at)
    quirks: list[QuirkEntry] = field(default_factory=list)
    # What the export needs to show references: chart number and display name of every client id
    # this bundle's records refer to, and where each document goes in the export folder.
    charts: dict[str, str] = field(default_factory=dict)
    display_names: dict[str, str] = field(default_factory=dict)
    export_paths: dict[str, str] = field(default_factory=dict)
    # Clients created while the export ran: live in the store, absent from VP-Clients.
    not_exported: set[str] = field(default_factory=set)


@dataclass
class Context:
    """Everything a bundle is built from; only `seq` and `recent_clients` change between clients."""

    options: GeneratorOptions
    practice: Practice
    timeline: Timeline
    plan: QuirkPlan
    seq: Sequences
    dependents: bool  # whether anything beyond the client records is wanted
    recent_clients: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=RECENT_CLIENTS))
