with source as (
    select * from {{ source('visual_practice', 'referral_sources') }}
    where _deleted_at is null
),

renamed as (
    select
        id as referral_source_id,
        trim(regexp_replace(name, '\s+', ' ', 'g')) as referral_source_name,
        type as referral_source_type,
        coalesce(is_active, true) as is_active,
        _source as extracted_from
    from source
)

select * from renamed
