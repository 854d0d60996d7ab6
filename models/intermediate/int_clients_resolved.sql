-- Clients with their migration decisions: which Person they become (merged clients follow their
-- survivor, up to four merges deep), probable duplicates flagged (same name and date of birth,
-- never merged silently), owner = the default practitioner while still on staff.
with clients as (
    select * from {{ ref('stg_visual_practice__clients') }}
),

staff as (
    select * from {{ ref('stg_visual_practice__staff') }}
),

survivors as (
    select
        c.client_id,
        case
            when c.merged_into_id is null then c.client_id
            when m1.client_id is null then null
            when m1.merged_into_id is null then m1.client_id
            when m2.client_id is not null and m2.merged_into_id is null then m2.client_id
            when m3.client_id is not null and m3.merged_into_id is null then m3.client_id
            when m4.client_id is not null and m4.merged_into_id is null then m4.client_id
        end as person_client_id
    from clients c
    left join clients m1 on m1.client_id = c.merged_into_id
    left join clients m2 on m2.client_id = m1.merged_into_id
    left join clients m3 on m3.client_id = m2.merged_into_id
    left join clients m4 on m4.client_id = m3.merged_into_id
),

resolved as (
    select
        c.*,
        s.person_client_id,
        c.merged_into_id is not null as is_merged,
        lower(strip_accents(coalesce(c.full_name, ''))) || '|' || coalesce(cast(c.date_of_birth as varchar), '')
            as duplicate_key,
        case when p.is_active and p.email_is_valid then p.email end as owner_email
    from clients c
    join survivors s using (client_id)
    left join staff p on p.staff_id = c.default_practitioner_id
)

select
    *,
    case when not is_merged and full_name is not null then
        nullif(min(case when not is_merged then client_id end) over (partition by duplicate_key), client_id)
    end as duplicate_of
from resolved
