with source as (
    select * from {{ source('visual_practice', 'custom_object_records') }}
    where _deleted_at is null
),

renamed as (
    select
        id as record_id,
        object_key,
        coalesce(fields, '{}')::json as record_fields,
        coalesce(links.client_ids, []) as client_ids,
        coalesce(links.organization_ids, []) as organization_ids,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
)

select * from renamed
