-- Billable services become Pipedrive Products (rule 4); the others are listed as skipped.
select
    {{ natural_key('services', 'service_id') }} as natural_key,
    'services' as source_collection,
    service_id as source_id,
    service_name as name,
    service_code as code,
    category,
    'session' as unit,
    [struct_pack(price := default_fee, currency := '{{ var("currency", "CAD") }}')] as prices,
    duration_minutes,
    is_active
    {{ custom_field_columns('product', 's') }}
from {{ ref('stg_visual_practice__services') }} s
where is_billable
