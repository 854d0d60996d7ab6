"""Constants of the Pipedrive client: routing, page sizes, retry policy, limiter tuning, budget reserve.

Token costs, burst limits and daily budgets are not here: they come from `vp2pd.pipedrive_contract`,
which reads them from Pipedrive's own OpenAPI documents (`x-token-cost`), so nothing is typed twice.
"""

from __future__ import annotations

from typing import Final, Literal

from vp2pd import pipedrive_contract as contract

Version = Literal["v1", "v2"]
Paging = Literal["cursor", "offset", "none"]

# Where each object lives and how its list pages. Since 2026-08-01 the v1 endpoints of the core
# objects are out of support, so they go to v2 (cursor paging); notes, files, users, activity types
# and organization relationships exist only in v1 (start/limit paging, or one unpaged list).
OBJECTS: Final[dict[str, tuple[Version, str, Paging]]] = {
    "persons": ("v2", "/persons", "cursor"),
    "organizations": ("v2", "/organizations", "cursor"),
    "deals": ("v2", "/deals", "cursor"),
    "activities": ("v2", "/activities", "cursor"),
    "products": ("v2", "/products", "cursor"),
    "pipelines": ("v2", "/pipelines", "cursor"),
    "stages": ("v2", "/stages", "cursor"),
    "projects": ("v2", "/projects", "cursor"),
    "boards": ("v2", "/boards", "none"),  # project boards and phases: lists the API returns whole
    "phases": ("v2", "/phases", "none"),
    "notes": ("v1", "/notes", "offset"),
    "files": ("v1", "/files", "offset"),
    "users": ("v1", "/users", "none"),
    "activityTypes": ("v1", "/activityTypes", "none"),
    "organizationRelationships": ("v1", "/organizationRelationships", "none"),
}
# Objects with their own v2 search endpoint (`/{object}/search`); others go through itemSearch.
SEARCHABLE: Final[frozenset[str]] = frozenset({"persons", "organizations", "deals", "products"})
ITEM_SEARCH_TYPES: Final[dict[str, str]] = {"files": "file"}  # object -> itemSearch `item_types`

# The fields endpoints of v2, per object (activity fields are read-only in the API).
FIELDS_PATHS: Final[dict[str, str]] = {
    "persons": "/personFields",
    "organizations": "/organizationFields",
    "deals": "/dealFields",
    "products": "/productFields",
    "activities": "/activityFields",
    "projects": "/projectFields",
}
WRITABLE_FIELDS: Final[frozenset[str]] = frozenset({"persons", "organizations", "deals", "products", "projects"})

VERSION_PREFIX: Final[dict[Version, str]] = {"v2": "/api/v2", "v1": "/v1"}
COMPANY_URL: Final = "https://{company}.pipedrive.com"  # a real account's base URL

# Page sizes: one list call costs the same whatever its size, so always ask for the maximum.
V2_PAGE_LIMIT: Final = 500
V1_PAGE_LIMIT: Final = 500
V1_FILES_PAGE_LIMIT: Final = 100  # /v1/files caps its pages at 100
V1_PAGE_LIMITS: Final[dict[str, int]] = {"/files": V1_FILES_PAGE_LIMIT}

# Retries: jittered exponential backoff, capped; a 429 waits what the server says instead.
MAX_ATTEMPTS: Final = 7  # first try + 6 retries
BACKOFF_BASE_S: Final = 0.5
BACKOFF_CAP_S: Final = 30.0
MAX_429_WAITS: Final = 40  # a limiter still answering 429 after this many waits is a real problem
RETRY_STATUSES: Final[frozenset[int]] = frozenset({500, 502, 503, 504})
TIMEOUT_S: Final = 30.0
# Answers that mean the API never ran the call, so Pipedrive charges no tokens: the burst or daily
# limit refused it (429), or a proxy answered for an unavailable upstream (502/503/504). A 500 came
# from the API itself and is charged; so is an answer lost on the way back (a timeout, a dropped
# connection after sending): the ledger cannot know it was not counted, and over-counting only
# stops a run early, while under-counting could overspend the budget.
UNCHARGED_STATUSES: Final[frozenset[int]] = frozenset({429, 502, 503, 504})
DAILY_LIMIT_CODE: Final = "daily_limit_exceeded"  # the 429 of a spent daily budget: no retry helps

# The rolling window of Pipedrive's burst limit (the contract's figure). Our log of request starts
# is kept a little longer than the server's because the server timestamps a request when it gets to
# it — after the network, after any stall of its own — and without the margin request n+limit can
# land inside the server's window of request n (a 429, and a whole-second wait). 50 ms costs 2.4%
# of the rate and absorbs a server stall of that length.
BURST_WINDOW_S: Final = contract.BURST_WINDOW_S
BURST_MARGIN_S: Final = 0.05

# Adaptive concurrency (AIMD): requests in flight start at INITIAL, grow by one per window of
# clean answers while work is queued, and shrink by DECREASE on a 429.
CONCURRENCY_INITIAL: Final = 8
CONCURRENCY_MIN: Final = 1
CONCURRENCY_MAX: Final = 32
CONCURRENCY_DECREASE: Final = 0.5
# The floor of that number: allowed rate × measured latency × this, for the latency's tail (an
# exponential latency exceeds 3× its mean 5% of the time).
LATENCY_HEADROOM: Final = 3.0

# Daily budget: stop this many tokens before the end so a run never spends the account to zero
# (the customer's own people keep working in Pipedrive during a migration).
RESERVE_FRACTION: Final = 0.05
DEFAULT_TIMEZONE: Final = "UTC"

ABUSE_MESSAGE: Final = "Pipedrive abuse protection: back off"
USER_AGENT: Final = "vp2pd/0.1 (Visual Practice to Pipedrive migration)"
