with source as (
    select * from {{ source('visual_practice', 'claims') }}
    where _deleted_at is null
),

renamed as (
    select
        id as claim_id,
        invoice_id,
        client_id,
        payer,
        health_number,
        version_code,
        diagnostic_code,
        submitted_on,
        lower(trim(status)) as status,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
)

select * from renamed
