"""The CSV export extractor (contract section 2): `extract.extract_export` lands an admin-panel
export (folder or zip) in `raw_visual_practice`, `_source = 'csv'`.

What the staging models must know about CSV rows:
- Ids: a client's id is its chart number (`id` = `chart_number`, leading zeros kept) and an
  invoice's its bill number (`id` = `invoice_number`); every `client_id`, `merged_into_id` and
  `invoice_id` holds those numbers. Other ids are VP's own (`ID`, `Appointment ID`, ...).
- References shown by display value land in `<field>_display` with the id column NULL: staff as
  `LAST, FIRST` (practitioner, author), location / organization / parent organization / referral
  source names, service codes; `staff.location_ids_display` is a list (`; `-separated).
- Date-times are the practice's local wall-clock time, landed as naive TIMESTAMP (not UTC).
- emails: one entry per non-empty `E-mail` / `E-mail 2` column, labelled `email` / `email2`;
  phones: `Home Phone` / `Cell Phone` / `Work Phone`, labelled `home` / `mobile` / `work`. In
  both, the first non-empty column (in that order) is the primary one.
- address / utm are NULL when all their columns are empty; nested lists (contacts, lines,
  payments) are `[]` for a parent without any, NULL when the export has no such file.
- custom_properties and custom object record `fields` hold text as written (`{}` when empty):
  dates and money in them are not parsed.
- `_extra` keeps every column the contract does not name, under its header (the invoice
  adjudication summary `$ Paid` etc., appointment `Patient`, document `File`, unknown columns).
- A record an earlier CSV run landed that a later export no longer holds gets `_deleted_at` =
  that export's date.
"""
