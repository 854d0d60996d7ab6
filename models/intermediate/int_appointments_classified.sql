-- Appointments with their Activity decision (rule 3): done / open / skipped and why, the
-- activity type, and the Person, owner, deal and organisation they attach to.
with appointments as (
    select * from {{ ref('stg_visual_practice__appointments') }}
),

clients as (
    select * from {{ ref('int_clients_resolved') }}
),

staff as (
    select * from {{ ref('stg_visual_practice__staff') }}
),

services as (
    select * from {{ ref('stg_visual_practice__services') }}
),

contract_of_appointment as (
    select appointment_id, min(contract_id) as contract_id
    from {{ ref('stg_visual_practice__service_records') }}
    where appointment_id is not null and contract_id is not null
    group by 1
),

decided as (
    select
        a.*,
        c.person_client_id,
        c.full_name as client_name,
        c.organization_id,
        ca.contract_id,
        sv.service_name,
        p.full_name as practitioner_name,
        case when p.is_active and p.email_is_valid then p.email end as owner_email,
        date_diff('minute', a.starts_at_utc, a.ends_at_utc) as duration_minutes,
        case
            when a.status = 'template' or a.client_id is null then 'template_slot'
            when c.client_id is null then 'client_missing'
            when c.person_client_id is null then 'merge_survivor_missing'
            when a.status in ('cancelled', 'no_show')
                 and not list_contains({{ sql_list(var('keep_appointments', [])) }}, a.status)
                then a.status
            when a.status not in ('completed', 'booked', 'arrived', 'cancelled', 'no_show') then 'unknown_status'
        end as skip_reason
    from appointments a
    left join clients c on c.client_id = a.client_id
    left join staff p on p.staff_id = a.practitioner_id
    left join services sv on sv.service_id = a.service_id
    left join contract_of_appointment ca on ca.appointment_id = a.appointment_id
)

select
    *,
    status in ('completed', 'cancelled', 'no_show') as is_done,
    case
        when channel = 'phone' then 'call'
        when channel in ('in_person', 'video') then 'meeting'
        -- Exports before release 2001.2 have no channel: short bookings and notes about a
        -- call are phone calls.
        when duration_minutes <= {{ var('call_max_minutes', 15) }}
             or regexp_matches(lower(coalesce(notes, '')), '\b(call|phone|called|telephone)\b') then 'call'
        else 'meeting'
    end as activity_type
from decided
