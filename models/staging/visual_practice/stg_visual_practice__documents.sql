with source as (
    select * from {{ source('visual_practice', 'documents') }}
    where _deleted_at is null
),

renamed as (
    select
        id as document_id,
        client_id,
        appointment_id,
        filename as source_filename,
        content_type,
        size_bytes,
        sha256,
        category,
        {{ to_utc('uploaded_at') }} as uploaded_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
)

select * from renamed
