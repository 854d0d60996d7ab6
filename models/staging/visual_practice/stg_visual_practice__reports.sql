with source as (
    select * from {{ source('visual_practice', 'reports') }}
    where _deleted_at is null
),

renamed as (
    select
        id as definition_id,
        name as definition_name,
        kind,
        coalesce(is_active, true) as is_active,
        _source as extracted_from
    from source
)

select * from renamed
