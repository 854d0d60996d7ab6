with source as (
    select * from {{ source('visual_practice', 'services') }}
    where _deleted_at is null
),

renamed as (
    select
        id as service_id,
        trim(code) as service_code,
        trim(regexp_replace(name, '\s+', ' ', 'g')) as service_name,
        category,
        duration_minutes,
        {{ money('default_fee') }} as default_fee,
        coalesce(is_billable, false) as is_billable,
        coalesce(is_active, true) as is_active,
        _source as extracted_from
    from source
)

select * from renamed
