"""The marts suite (schema `pipedrive`): what Pipedrive would refuse or mis-file if the loader sent
the rows as they are — empty names, malformed e-mails, pick-list values that are not among the
field's options (`pipedrive__custom_fields`), files over the customer's size limit or empty, notes
over 100 KB, references to rows that do not exist, and natural keys that are not unique."""

from __future__ import annotations

import duckdb
import great_expectations.expectations as gxe

from expectations.checks import WARNING, Check, duplicates_check, not_blank, resolves, unresolved
from vp2pd.config import CustomerConfig
from vp2pd.transform import MART_SCHEMA, MARTS
from vp2pd.warehouse import quote

# Pipedrive's limit on a note's (and an activity note's) content, in bytes of UTF-8.
NOTE_MAX_BYTES = 100_000
# One @, no spaces, a dotted domain: what Pipedrive takes as an address. Deliberately not the
# transform's own rule (macros/cleaning.sql), so the check is not the code it checks.
EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
OBJECT_MARTS = {"person": "pipedrive__persons", "organization": "pipedrive__organizations",
                "deal": "pipedrive__deals", "activity": "pipedrive__activities",
                "product": "pipedrive__products", "project": "pipedrive__projects"}
ROW_IDS = ("source_id", "natural_key")


def mart(name: str) -> str:
    return f"{MART_SCHEMA}.{quote(name)}"


def _check(name: str, table: str, columns: list[str]) -> Check:
    """A check over one mart's rows (alias m), named by source id and natural key."""
    cols = ", ".join([*(f"m.{quote(c)}" for c in ROW_IDS), *columns])
    return Check(f"marts.{name}", mart(table), f"SELECT {cols} FROM {mart(table)} m", ROW_IDS)


def _record_checks(cfg: CustomerConfig, picklists: dict[str, list[tuple[str, list[str]]]]) -> list[Check]:
    orgs, persons, deals = mart("pipedrive__organizations"), mart("pipedrive__persons"), mart("pipedrive__deals")
    owners = mart("pipedrive__owner_candidates")
    checks: list[Check] = []

    def add(name: str, table: str, plain: list[str], refs: dict[str, str] | None = None,
            computed: list[str] | None = None) -> Check:
        refs = refs or {}
        obj = next((o for o, t in OBJECT_MARTS.items() if t == table), None)
        enums = [f for f, _ in picklists.get(obj or "", []) if f]
        extra = [f"m.{quote(c)}" for c in plain + enums] + [unresolved(c, t) for c, t in refs.items()]
        check = _check(name, table, extra + (computed or []))
        check.expect(gxe.ExpectColumnValuesToNotBeNull(column="natural_key"))
        for field, options in picklists.get(obj or "", []):
            check.expect(gxe.ExpectColumnValuesToBeInSet(column=field, value_set=options))
        for column in refs:
            resolves(check, column)
        checks.append(check)
        return check

    check = add("organizations", "pipedrive__organizations", ["name"])
    not_blank(check, "name")
    check = add("persons", "pipedrive__persons", ["name"], {"org_key": orgs},
                [unresolved("owner_email", owners, "email")])
    not_blank(check, "name")
    # An owner that matches no staff e-mail falls back to the default owner at load time.
    resolves(check, "owner_email", WARNING)
    check = add("products", "pipedrive__products", ["name"])
    not_blank(check, "name")
    check = add("deals", "pipedrive__deals", ["title", "person_key", "status"],
                {"person_key": persons, "org_key": orgs})
    not_blank(check, "title")
    check.expect(gxe.ExpectColumnValuesToNotBeNull(column="person_key"))
    check.expect(gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["open", "won", "lost"]))
    check = add("deal_products", "pipedrive__deal_products", ["deal_key", "product_key"],
                {"deal_key": deals, "product_key": mart("pipedrive__products")})
    for column in ("deal_key", "product_key"):
        check.expect(gxe.ExpectColumnValuesToNotBeNull(column=column))
    check = add("activities", "pipedrive__activities", ["subject", "person_key", "due_date"],
                {"person_key": persons, "deal_key": deals, "org_key": orgs},
                ["strlen(m.note) AS note_bytes"])
    not_blank(check, "subject")
    check.expect(gxe.ExpectColumnValuesToNotBeNull(column="due_date"))
    check.expect(gxe.ExpectColumnValuesToBeBetween(column="note_bytes", max_value=NOTE_MAX_BYTES))
    check = add("notes", "pipedrive__notes", ["content", "person_key"], {"person_key": persons, "deal_key": deals},
                ["strlen(m.content) AS content_bytes"])
    not_blank(check, "content")
    check.expect(gxe.ExpectColumnValuesToBeBetween(column="content_bytes", max_value=NOTE_MAX_BYTES))
    check.expect(gxe.ExpectColumnValuesToNotBeNull(column="person_key"))
    check = add("files", "pipedrive__files", ["file_name", "size_bytes"],
                {"person_key": persons, "activity_key": mart("pipedrive__activities")})
    not_blank(check, "file_name")
    # A path part in the name would put the file somewhere else (or nowhere) on upload.
    check.expect(gxe.ExpectColumnValuesToNotMatchRegex(column="file_name", regex=r"[/\\]"))
    # Empty files and those over the customer's limit belong in migration__skipped, not here.
    check.expect(gxe.ExpectColumnValuesToBeBetween(column="size_bytes", min_value=1,
                                                   max_value=cfg.documents.size_limit_mb * 1024 * 1024))
    check = add("organization_relationships", "pipedrive__organization_relationships", ["rel_owner_org_key"],
                {"rel_owner_org_key": orgs, "rel_linked_org_key": orgs})
    check.expect(gxe.ExpectColumnValuesToNotBeNull(column="rel_owner_org_key"))
    check = add("projects", "pipedrive__projects", ["title", "board_name"])
    not_blank(check, "title")
    not_blank(check, "board_name")
    check = add("owner_candidates", "pipedrive__owner_candidates", ["email"])
    # Owners are matched to Pipedrive users by e-mail: one that is malformed matches nobody.
    check.expect(gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX))
    in_mart = " ".join(f"WHEN '{o}' THEN '{t}'" for o, t in OBJECT_MARTS.items())
    # Project fields live in a project's `project_fields` JSON (they differ per board), not in columns.
    check = add("custom_fields", "pipedrive__custom_fields", ["field_name", "field_type"], computed=[
        "CASE WHEN m.field_type IN ('enum', 'set') THEN len(m.options) END AS option_count",
        f"CASE WHEN m.object <> 'project' THEN EXISTS (SELECT 1 FROM information_schema.columns c "
        f"WHERE c.table_schema = '{MART_SCHEMA}' AND c.column_name = m.field_name "
        f"AND c.table_name = CASE m.object {in_mart} END) END AS column_in_mart"])
    not_blank(check, "field_name")
    # Pipedrive refuses a pick-list field without options.
    check.expect(gxe.ExpectColumnValuesToBeBetween(column="option_count", min_value=1))
    # A field no mart column fills is created empty, and its pick-list values go unchecked here.
    check.expect(gxe.ExpectColumnValuesToBeInSet(column="column_in_mart", value_set=[True]), WARNING)
    return checks


def _list_checks(sets: dict[str, list[tuple[str, list[str]]]]) -> list[Check]:
    """Values held in lists (a person's e-mails, multi-option fields), one row per value."""
    persons = mart("pipedrive__persons")
    emails = Check("marts.persons.emails", persons,
                   f"SELECT m.source_id, m.natural_key, e.value AS email FROM {persons} m, unnest(m.emails) AS t(e)",
                   ROW_IDS)
    emails.expect(gxe.ExpectColumnValuesToNotBeNull(column="email"))
    emails.expect(gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX))
    checks = [emails]
    for obj, fields in sets.items():
        for field, options in fields:
            table = mart(OBJECT_MARTS[obj])
            check = Check(f"marts.{OBJECT_MARTS[obj].removeprefix('pipedrive__')}.{field}", table,
                          f"SELECT m.source_id, m.natural_key, v AS {quote(field)} FROM {table} m, "
                          f"unnest(m.{quote(field)}) AS t(v)", ROW_IDS)
            checks.append(check.expect(gxe.ExpectColumnValuesToBeInSet(column=field, value_set=options)))
    projects = mart("pipedrive__projects")
    for column, target in (("person_keys", "pipedrive__persons"), ("org_keys", "pipedrive__organizations")):
        key = column.removesuffix("s")
        check = Check(f"marts.projects.{column}", projects,
                      f"SELECT m.source_id, m.natural_key, {unresolved(key, mart(target))} FROM (SELECT p.source_id, "
                      f"p.natural_key, k AS {key} FROM {projects} p, unnest(p.{column}) AS t(k)) m", ROW_IDS)
        resolves(check, key)
        checks.append(check)
    return checks


def _pick_lists(con: duckdb.DuckDBPyConnection, field_type: str) -> dict[str, list[tuple[str, list[str]]]]:
    """(field, options) of every pick-list custom field, per object, whose column its mart has."""
    rows = con.execute(
        f"SELECT f.object, f.field_name, list_sort(f.options) FROM {mart('pipedrive__custom_fields')} f "
        "JOIN information_schema.columns c ON c.table_schema = ? AND c.column_name = f.field_name "
        "AND c.table_name = CASE f.object " + " ".join(f"WHEN '{o}' THEN '{t}'" for o, t in OBJECT_MARTS.items())
        + " END WHERE f.field_type = ? AND len(f.options) > 0 ORDER BY 1, 2", [MART_SCHEMA, field_type]).fetchall()
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for obj, field, options in rows:
        found.setdefault(obj, []).append((field, list(options)))
    return found


def mart_checks(con: duckdb.DuckDBPyConnection, cfg: CustomerConfig) -> list[Check]:
    checks = _record_checks(cfg, _pick_lists(con, "enum")) + _list_checks(_pick_lists(con, "set"))
    for name in MARTS:
        if name != "migration__skipped":
            checks.append(duplicates_check(f"marts.{name.removeprefix('pipedrive__')}.duplicates", mart(name),
                                           "natural_key", named_by="source_id"))
    checks.append(duplicates_check("marts.owner_candidates.email_duplicates", mart("pipedrive__owner_candidates"),
                                   "email", named_by="source_id"))
    return checks
