{{ config(materialized='table') }}
-- SOAP notes as Pipedrive note HTML (rule 11): headed with the appointment's date and
-- practitioner, each section cleaned by the allowlist sanitiser (vp2pd/html_notes.py: no
-- scripts, event handlers or styles). A table, so the sanitiser runs once per note.
with notes as (
    select * from {{ ref('stg_visual_practice__appointment_notes') }}
),

appointments as (
    select appointment_id, starts_at_utc, practitioner_id from {{ ref('stg_visual_practice__appointments') }}
),

staff as (
    select staff_id, full_name from {{ ref('stg_visual_practice__staff') }}
)

select
    n.appointment_note_id,
    n.appointment_id,
    n.client_id,
    n.created_at,
    '<p><b>Session note — ' || coalesce(strftime(a.starts_at_utc, '%Y-%m-%d %H:%M UTC'), strftime(n.created_at, '%Y-%m-%d'))
        || coalesce(' — ' || s.full_name, '') || '</b></p>'
        || coalesce('<p><b>Subjective</b></p>' || nullif(vp2pd_sanitise_html(n.subjective), ''), '')
        || coalesce('<p><b>Objective</b></p>' || nullif(vp2pd_sanitise_html(n.objective), ''), '')
        || coalesce('<p><b>Assessment</b></p>' || nullif(vp2pd_sanitise_html(n.assessment), ''), '')
        || coalesce('<p><b>Plan</b></p>' || nullif(vp2pd_sanitise_html(n.plan), ''), '')
        as content
from notes n
left join appointments a on a.appointment_id = n.appointment_id
left join staff s on s.staff_id = coalesce(n.author_id, a.practitioner_id)
