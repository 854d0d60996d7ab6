-- Active staff with an e-mail (rule 7): matched to Pipedrive users by e-mail, case-insensitive,
-- at load time. Inactive staff are Persons (Practitioner_Former); active staff without a usable
-- e-mail are in migration__skipped.
select
    {{ natural_key('staff', 'staff_id') }} as natural_key,
    'staff' as source_collection,
    staff_id as source_id,
    lower(email) as email,
    full_name as name,
    role,
    specialty
from {{ ref('stg_visual_practice__staff') }}
where is_active and email_is_valid
