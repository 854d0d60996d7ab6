-- Appointments as Pipedrive Activities (rule 3). Due date and time are UTC (CSV local times were
-- converted with the practice zone in staging). v2 cannot set add_time: the original creation
-- time is kept in the Original_Create_Date activity field.
with appointments as (
    select * from {{ ref('int_appointments_classified') }}
    where skip_reason is null
),

keys as (
    select * from {{ ref('int_client_keys') }}
),

deals as (
    select source_id as contract_id, natural_key as deal_key from {{ ref('pipedrive__deals') }}
),

locations as (
    select location_id, location_name, address as location_address from {{ ref('stg_visual_practice__locations') }}
),

soap as (
    select
        appointment_id,
        string_agg(content, '<hr>' order by created_at, appointment_note_id) as note,
        list({'source_collection': 'appointment_notes', 'source_id': appointment_note_id}) as folded_sources
    from {{ ref('int_soap_notes_placed') }}
    where placement = 'activity_note'
    group by 1
),

shaped as (
    select
        a.*,
        k.person_key,
        k.org_key,
        d.deal_key,
        l.location_name,
        l.location_address,
        s.note,
        s.folded_sources,
        strftime(a.created_at, '%Y-%m-%dT%H:%M:%SZ') as "Original_Create_Date",
        a.appointment_id as "Source_System_ID"
    from appointments a
    join keys k on k.client_id = a.client_id
    left join deals d on d.contract_id = a.contract_id
    left join locations l on l.location_id = a.location_id
    left join soap s on s.appointment_id = a.appointment_id
)

select
    {{ natural_key('appointments', 's.appointment_id') }} as natural_key,
    'appointments' as source_collection,
    s.appointment_id as source_id,
    case s.status when 'cancelled' then 'Cancelled: ' when 'no_show' then 'No-show: ' else '' end
        || coalesce(s.service_name, 'Appointment') || ' — ' || coalesce(s.client_name, 'client') as subject,
    s.activity_type as type,
    s.is_done as done,
    strftime(s.starts_at_utc, '%Y-%m-%d') as due_date,
    strftime(s.starts_at_utc, '%H:%M') as due_time,
    case when s.duration_minutes > 0
         then lpad(cast(s.duration_minutes // 60 as varchar), 2, '0') || ':' || lpad(cast(s.duration_minutes % 60 as varchar), 2, '0')
    end as duration,
    s.person_key,
    [struct_pack(person_key := s.person_key, "primary" := true)] as participants,
    s.owner_email,
    s.org_key,
    s.deal_key,
    -- v2 takes an activity's location as an address object {value, ...}: the branch's address,
    -- or its name when the source has no address for it.
    case when coalesce(s.location_address, s.location_name) is not null
         then struct_pack(value := coalesce(s.location_address, s.location_name)) end as location,
    s.note,
    s.status as source_status,
    s.channel as source_channel,
    coalesce(s.folded_sources, []) as folded_sources
    {{ custom_field_columns('activity', 's') }}
from shaped s
