-- The practice itself, the primary organisation (rule 2). A CSV export has no practice record:
-- the customer's configured name stands in, so every former practitioner still has a home.
with practice as (
    select * from {{ ref('stg_visual_practice__practice') }}
),

fallback as (
    select
        'practice' as practice_id, '{{ var("practice_name", "Practice") | replace("'", "''") }}' as practice_name,
        cast(null as varchar) as phone, cast(null as varchar) as website, cast(null as varchar) as address
    where not exists (select 1 from practice)
)

select
    {{ natural_key('practice', 'practice_id') }} as organization_key,
    practice_id, practice_name, phone, website, address
from (
    select practice_id, practice_name, phone, website, address from practice
    union all
    select * from fallback
)
