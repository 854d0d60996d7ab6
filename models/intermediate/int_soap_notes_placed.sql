{{ config(materialized='view') }}
-- Where each SOAP note goes (rule 11): by default into its appointment's Activity `note` (no extra
-- API call); a Note on the Person when the appointment is not an Activity, when the customer
-- chose `soap_notes: person_note`, or when the activity's notes together exceed the note limit.
-- A view: as a table it copied every note's HTML (155 MB in the 100k practice, 12 s) for the two
-- marts that read it once each.
with notes as (
    select * from {{ ref('int_soap_notes_rendered') }}
),

activities as (
    select appointment_id from {{ ref('int_appointments_classified') }} where skip_reason is null
),

per_appointment as (
    select appointment_id, sum(strlen(content)) + 8 * count(*) as bytes
    from notes
    where appointment_id in (select appointment_id from activities)
    group by 1
)

select
    n.*,
    case
        when '{{ var("soap_notes", "activity_note") }}' = 'activity_note' and p.appointment_id is not null
             and p.bytes <= {{ var('note_max_bytes', 100000) }}
            then 'activity_note'
        else 'person_note'
    end as placement
from notes n
left join per_appointment p on p.appointment_id = n.appointment_id
