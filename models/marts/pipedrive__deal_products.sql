-- The services of each contract as deal products: one row per (contract, service), quantity and
-- price from the contract's delivered and planned service records (cancelled ones left out); a
-- contract without records carries its own service once at the contract value.
with deals as (
    select source_id as contract_id, natural_key as deal_key, service_id, value from {{ ref('pipedrive__deals') }}
),

records as (
    select * from {{ ref('stg_visual_practice__service_records') }}
    where contract_id is not null and status <> 'cancelled'
),

products as (
    select source_id as service_id, natural_key as product_key from {{ ref('pipedrive__products') }}
),

from_records as (
    select
        r.contract_id,
        r.service_id,
        sum(r.quantity) as quantity,
        (sum(r.quantity * r.unit_price) / nullif(sum(r.quantity), 0))::decimal(14, 2) as item_price,
        list({'source_collection': 'service_records', 'source_id': r.service_record_id}) as folded_sources
    from records r
    group by 1, 2
),

without_records as (
    select d.contract_id, d.service_id, 1::decimal(12, 3) as quantity, d.value as item_price, [] as folded_sources
    from deals d
    where d.contract_id not in (select contract_id from from_records) and d.service_id is not null
)

select
    {{ natural_key('service_contracts', "x.contract_id || '/' || x.service_id") }} as natural_key,
    'service_contracts' as source_collection,
    x.contract_id || '/' || x.service_id as source_id,
    d.deal_key,
    p.product_key,
    x.item_price,
    x.quantity,
    x.folded_sources
from (select * from from_records union all by name select * from without_records) x
join deals d on d.contract_id = x.contract_id
join products p on p.service_id = x.service_id
