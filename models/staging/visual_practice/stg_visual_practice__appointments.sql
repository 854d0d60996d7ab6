with source as (
    select * from {{ source('visual_practice', 'appointments') }}
    where _deleted_at is null
),

renamed as (
    select
        id as appointment_id,
        client_id,
        {{ staff_id('practitioner_id', 'practitioner_id_display') }} as practitioner_id,
        practitioner_id_display,
        {{ named_id('locations', 'location_id', 'location_id_display') }} as location_id,
        {{ named_id('services', 'service_id', 'service_id_display', 'code') }} as service_id,
        {{ to_utc('starts_at') }} as starts_at_naive_utc,
        {{ to_utc('ends_at') }} as ends_at_utc,
        starts_at as starts_at_source,
        ends_at as ends_at_source,
        lower(trim(status)) as status,
        nullif(trim(cancellation_reason), '') as cancellation_reason,
        nullif(lower(trim(channel)), '') as channel,
        nullif(trim(notes), '') as notes,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
),

dst_resolved as (
    -- A CSV booking across the autumn change (01:30 EDT to 01:30 EST) shows the same wall-clock
    -- time twice; the conversion gives both the later instant, so the start is the earlier one.
    select
        * exclude (starts_at_naive_utc),
        case
            when extracted_from = 'csv' and ends_at_source >= starts_at_source
                 and ends_at_utc <= starts_at_naive_utc
                then starts_at_naive_utc - interval 1 hour
            else starts_at_naive_utc
        end as starts_at_utc
    from renamed
)

select * from dst_resolved
