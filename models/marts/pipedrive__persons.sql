-- Pipedrive Persons (API v2 body terms). Only valid e-mails and phones are sent, primary first;
-- the invalid ones are kept in invalid_emails / invalid_phones for the report.
with persons as (
    select * from {{ ref('int_persons_unioned') }}
),

shaped as (
    select
        p.*,
        list_filter(p.emails, lambda e: e.is_valid) as valid_emails,
        list_filter(p.phones, lambda t: t.is_valid) as valid_phones
    from persons p
)

select
    (p.source_collection || ':' || p.source_id) as natural_key,
    p.source_collection,
    p.source_id,
    p.name,
    list_transform(
        list_concat(list_filter(p.valid_emails, lambda e: e.is_primary), list_filter(p.valid_emails, lambda e: not e.is_primary)),
        lambda e, i: struct_pack(value := e.address, "primary" := i = 1,
            label := case when e.label in ('work', 'home', 'other') then e.label else 'home' end)
    ) as emails,
    list_transform(
        list_concat(list_filter(p.valid_phones, lambda t: t.is_primary), list_filter(p.valid_phones, lambda t: not t.is_primary)),
        lambda t, i: struct_pack(value := t.number, "primary" := i = 1,
            label := case when t.label in ('work', 'home', 'mobile', 'other') then t.label else 'other' end)
    ) as phones,
    case when p.address is not null then struct_pack(value := p.address) end as postal_address,
    p.birthday,
    p.org_key,
    p.owner_email,
    strftime(p.add_time, '%Y-%m-%dT%H:%M:%SZ') as add_time,
    p.is_probable_duplicate,
    p.source_status,
    list_transform(list_filter(p.emails, lambda e: not e.is_valid), lambda e: e.raw_address) as invalid_emails,
    list_transform(list_filter(p.phones, lambda t: not t.is_valid), lambda t: t.raw_number) as invalid_phones,
    p.folded_sources
    {{ custom_field_columns('person', 'p') }}
from shaped p
