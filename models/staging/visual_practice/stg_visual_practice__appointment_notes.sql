with source as (
    select * from {{ source('visual_practice', 'appointment_notes') }}
    where _deleted_at is null
),

renamed as (
    select
        id as appointment_note_id,
        appointment_id,
        client_id,
        {{ staff_id('author_id', 'author_id_display') }} as author_id,
        subjective,
        objective,
        assessment,
        plan,
        {{ to_utc('signed_at') }} as signed_at,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
)

select * from renamed
