with source as (
    select * from {{ source('visual_practice', 'service_records') }}
    where _deleted_at is null
),

renamed as (
    select
        id as service_record_id,
        client_id,
        {{ named_id('services', 'service_id', 'service_id_display', 'code') }} as service_id,
        {{ staff_id('practitioner_id', 'practitioner_id_display') }} as practitioner_id,
        appointment_id,
        contract_id,
        lower(trim(status)) as status,
        cast(quantity as decimal(12, 3)) as quantity,
        {{ money('unit_price') }} as unit_price,
        performed_on,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
)

select * from renamed
