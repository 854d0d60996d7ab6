with source as (
    select * from {{ source('visual_practice', 'practice') }}
    where _deleted_at is null
),

renamed as (
    select
        id as practice_id,
        {{ clean_name('name') }} as practice_name,
        nullif(trim(legal_name), '') as legal_name,
        {{ normalise_phone('phone') }} as phone,
        {{ normalise_email('email') }} as email,
        nullif(trim(website), '') as website,
        {{ address_line('address') }} as address,
        coalesce(timezone, '{{ var("timezone") }}') as timezone,
        coalesce(currency, '{{ var("currency") }}') as currency,
        plan,
        _source as extracted_from
    from source
)

select * from renamed
