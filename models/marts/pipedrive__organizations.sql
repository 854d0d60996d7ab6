-- Pipedrive Organizations: the practice (primary) and the businesses it serves (rule 2).
with practice as (
    select * from {{ ref('int_practice_organization') }}
),

organizations as (
    select * from {{ ref('stg_visual_practice__organizations') }}
),

locations as (
    select * from {{ ref('stg_visual_practice__locations') }}
),

unioned as (
    select
        organization_key as natural_key, 'practice' as source_collection, practice_id as source_id,
        practice_name as name, address, website, true as is_practice,
        phone as "Phone", cast(null as varchar) as "Location", practice_id as "Source_System_ID",
        cast(null as varchar) as add_time
    from practice
    union all
    select
        {{ natural_key('organizations', 'o.organization_id') }}, 'organizations', o.organization_id,
        o.organization_name, o.address, o.website, false,
        o.phone, l.location_name, o.organization_id,
        strftime(o.created_at, '%Y-%m-%dT%H:%M:%SZ')
    from organizations o
    left join locations l on l.location_id = o.location_id
)

select
    u.natural_key,
    u.source_collection,
    u.source_id,
    u.name,
    case when u.address is not null then struct_pack(value := u.address) end as address,
    u.website,
    u.add_time,
    u.is_practice
    {{ custom_field_columns('organization', 'u') }}
from unioned u
