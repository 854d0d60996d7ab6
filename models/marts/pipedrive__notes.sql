-- Pipedrive Notes (v1, HTML): SOAP notes that are not an Activity's note (rule 11), invoices one
-- per invoice or one summary per Person (rule 5, `invoice_notes`), and claims only under the
-- customer's retention rule (PHI). Every note over the limit is split into numbered parts
-- between elements; nothing is cut.
with keys as (
    select * from {{ ref('int_client_keys') }}
),

deals as (
    select source_id as contract_id, natural_key as deal_key from {{ ref('pipedrive__deals') }}
),

soap as (
    select
        'appointment_notes' as source_collection, n.appointment_note_id as source_id,
        k.person_key, cast(null as varchar) as deal_key, n.content, n.created_at as add_time,
        [] as folded_sources
    from {{ ref('int_soap_notes_placed') }} n
    join keys k on k.client_id = n.client_id
    where n.placement = 'person_note'
),

invoices as (
    select i.*, k.person_key, d.deal_key
    from {{ ref('int_invoice_notes_rendered') }} i
    join keys k on k.client_id = i.client_id
    left join deals d on d.contract_id = i.contract_id
),

invoice_notes as (
    {% if var('invoice_notes', 'per_invoice') == 'per_person' %}
    select
        'clients.invoices' as source_collection, person_client_id as source_id, person_key,
        cast(null as varchar) as deal_key,
        '<p><b>Invoices</b></p>' || string_agg(content, '<hr>' order by issue_date, invoice_id) as content,
        min(created_at) as add_time,
        list({'source_collection': 'invoices', 'source_id': invoice_id}) as folded_sources
    from invoices
    group by person_client_id, person_key
    {% else %}
    select
        'invoices' as source_collection, invoice_id as source_id, person_key, deal_key, content,
        created_at as add_time, [] as folded_sources
    from invoices
    {% endif %}
),

claims as (
    {% set fields = var('claim_fields', []) %}
    select
        'claims' as source_collection, c.claim_id as source_id, k.person_key, cast(null as varchar) as deal_key,
        '<p><b>Claim ' || {{ html_escape('c.claim_id') }} || '</b></p><ul>'
        {% for f in fields %} || coalesce('<li>{{ f }}: ' || {{ html_escape('c.' ~ f) }} || '</li>', ''){% endfor %}
        || '</ul>' as content,
        c.created_at as add_time, [] as folded_sources
    from {{ ref('stg_visual_practice__claims') }} c
    join keys k on k.client_id = c.client_id
    where {{ 'true' if var('migrate_claims', false) else 'false' }}
),

unioned as (
    select * from soap
    union all by name select * from invoice_notes
    union all by name select * from claims
),

split as (
    select u.*, vp2pd_split_html(u.content, {{ var('note_max_bytes', 100000) }} - 100) as parts
    from unioned u
)

select
    (s.source_collection || ':' || s.source_id || '/' || cast(x.part as varchar)) as natural_key,
    s.source_collection,
    s.source_id,
    x.part,
    len(s.parts) as parts,
    case when len(s.parts) > 1
         then '<p><i>Part ' || cast(x.part as varchar) || ' of ' || cast(len(s.parts) as varchar) || '</i></p>'
         else '' end || s.parts[x.part] as content,
    s.person_key,
    s.deal_key,
    strftime(s.add_time, '%Y-%m-%d %H:%M:%S') as add_time,
    s.folded_sources
from split s
cross join lateral (select unnest(range(1, len(s.parts) + 1)) as part) x
