with source as (
    select * from {{ source('visual_practice', 'service_contracts') }}
    where _deleted_at is null
),

renamed as (
    select
        id as contract_id,
        client_id,
        {{ named_id('services', 'service_id', 'service_id_display', 'code') }} as service_id,
        {{ staff_id('practitioner_id', 'practitioner_id_display') }} as practitioner_id,
        trim(regexp_replace(title, '\s+', ' ', 'g')) as title,
        start_date,
        end_date,
        frequency,
        {{ money('value') }} as contract_value,
        coalesce(currency, '{{ var("currency") }}') as currency,
        lower(trim(status)) as status,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
)

select * from renamed
