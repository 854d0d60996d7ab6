with source as (
    select * from {{ source('visual_practice', 'locations') }}
    where _deleted_at is null
),

renamed as (
    select
        id as location_id,
        trim(regexp_replace(name, '\s+', ' ', 'g')) as location_name,
        code as location_code,
        {{ address_line('address') }} as address,
        {{ normalise_phone('phone') }} as phone,
        coalesce(is_active, true) as is_active,
        _source as extracted_from
    from source
)

select * from renamed
