with source as (
    select * from {{ source('visual_practice', 'organizations') }}
    where _deleted_at is null
),

renamed as (
    select
        id as organization_id,
        trim(regexp_replace(name, '\s+', ' ', 'g')) as organization_name,
        {{ named_id('organizations', 'source.parent_id', 'source.parent_id_display') }} as parent_id,
        parent_id_display,
        {{ normalise_phone('phone') }} as phone,
        nullif(trim(website), '') as website,
        {{ address_line('address') }} as address,
        {{ named_id('locations', 'location_id', 'location_id_display') }} as location_id,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
)

select * from renamed
