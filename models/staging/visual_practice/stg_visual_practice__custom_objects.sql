with source as (
    select * from {{ source('visual_practice', 'custom_objects') }}
    where _deleted_at is null
),

renamed as (
    select
        key as object_key,
        trim(label) as object_label,
        coalesce(fields, []) as object_fields,
        coalesce(relations, []) as relations,
        _source as extracted_from
    from source
)

select * from renamed
