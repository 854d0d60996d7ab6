-- Service contracts become Deals (rule 4) in the pipeline and stage the customer's worksheet
-- (pipeline.yml) gives each contract status; completed -> won, cancelled -> lost by default.
{%- set pipeline = var('pipeline', {}) %}
{%- set statuses = pipeline.get('contract_statuses', {}) %}
with contracts as (
    select * from {{ ref('stg_visual_practice__service_contracts') }}
),

keys as (
    select * from {{ ref('int_client_keys') }}
),

invoices as (
    select
        contract_id,
        arg_max(billed_amount, (issue_date, invoice_id)) filter (where not is_void) as last_invoice_amount,
        max(last_payment_on) filter (where not is_void) as last_payment_date
    from {{ ref('int_invoices_summarised') }}
    where contract_id is not null
    group by 1
),

staff as (
    select * from {{ ref('stg_visual_practice__staff') }}
),

services as (
    select * from {{ ref('stg_visual_practice__services') }}
),

shaped as (
    select
        c.*,
        k.person_key,
        k.org_key,
        case when p.is_active and p.email_is_valid then p.email end as owner_email,
        case c.status {% for source_status, row in statuses.items() %}
            when '{{ source_status }}' then '{{ row["status"] }}'{% endfor %} end as deal_status,
        case c.status {% for source_status, row in statuses.items() %}
            when '{{ source_status }}' then '{{ row["stage"] | replace("'", "''") }}'{% endfor %} end as stage_name,
        sv.category as "Service_Type",
        c.contract_id as "Source_System_ID",
        i.last_invoice_amount as "Last_Invoice_Amount",
        i.last_payment_date as "Last_Payment_Date"
    from contracts c
    join keys k on k.client_id = c.client_id
    left join staff p on p.staff_id = c.practitioner_id
    left join services sv on sv.service_id = c.service_id
    left join invoices i on i.contract_id = c.contract_id
)

select
    {{ natural_key('service_contracts', 's.contract_id') }} as natural_key,
    'service_contracts' as source_collection,
    s.contract_id as source_id,
    s.title,
    s.contract_value as value,
    s.currency,
    s.person_key,
    s.org_key,
    s.owner_email,
    '{{ pipeline.get("pipeline", "") | replace("'", "''") }}' as pipeline_name,
    s.stage_name,
    s.deal_status as status,
    case when s.deal_status = 'won' then strftime(coalesce(s.end_date, cast(s.updated_at as date)), '%Y-%m-%dT00:00:00Z') end as won_time,
    case when s.deal_status = 'lost' then strftime(s.updated_at, '%Y-%m-%dT%H:%M:%SZ') end as lost_time,
    case when s.deal_status = 'lost' then 'Contract cancelled in Visual Practice' end as lost_reason,
    s.end_date as expected_close_date,
    s.start_date,
    s.frequency,
    s.service_id
    {{ custom_field_columns('deal', 's') }}
from shaped s
