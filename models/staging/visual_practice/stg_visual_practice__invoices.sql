with source as (
    select * from {{ source('visual_practice', 'invoices') }}
    where _deleted_at is null
),

renamed as (
    select
        id as invoice_id,
        invoice_number,
        client_id,
        contract_id,
        lower(trim(bill_type)) as bill_type,
        issue_date,
        due_date,
        lower(trim(status)) as status,
        coalesce(currency, '{{ var("currency") }}') as currency,
        {{ money('total') }} as total,
        {{ money('balance') }} as balance,
        list_transform(coalesce(lines, []), lambda l: struct_pack(
            line_id := l.id,
            service_record_id := l.service_record_id,
            service_code := l.service_code,
            description := l.description,
            quantity := l.quantity,
            unit_price := l.unit_price,
            amount := l.amount,
            status := lower(trim(l.status)),
            error_code := l.error_code
        )) as lines,
        list_transform(coalesce(payments, []), lambda p: struct_pack(
            payment_id := p.id,
            received_on := p.received_on,
            amount := p.amount,
            payer_type := lower(trim(p.payer_type)),
            method := p.method,
            reference := p.reference
        )) as payments,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
)

select * from renamed
