-- Invoices with what they bill: a line rejected then resubmitted counts once (the rejected line
-- is excluded, its resubmission kept); void invoices are listed but not totalled.
with invoices as (
    select * from {{ ref('stg_visual_practice__invoices') }}
),

clients as (
    select client_id, person_client_id from {{ ref('int_clients_resolved') }}
)

select
    i.*,
    c.person_client_id,
    i.status = 'void' as is_void,
    coalesce(list_sum(list_transform(list_filter(i.lines, lambda l: l.status <> 'rejected'), lambda l: l.amount)), 0)
        ::decimal(14, 2) as billed_amount,
    coalesce(list_sum(list_transform(i.payments, lambda p: p.amount)), 0)::decimal(14, 2) as paid_amount,
    list_max(list_transform(i.payments, lambda p: p.received_on)) as last_payment_on
from invoices i
left join clients c on c.client_id = i.client_id
