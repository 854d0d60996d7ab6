-- The accounting of every record: each raw record (live or deleted) is represented in a mart
-- (as a row, or folded into one: merged clients, service records, invoices in a summary note,
-- SOAP notes in an activity, locations as pick-list options) or listed in migration__skipped.
-- Returns the records that vanished; the test passes when there are none.
with raw_records as (
    {%- for name, key in raw_collections() %}
    select '{{ name }}' as source_collection, cast("{{ key }}" as varchar) as source_id
    from {{ source('visual_practice', name) }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

represented as (
    {%- for mart in record_marts() %}
    select source_collection, source_id from {{ ref(mart) }}
    union all
    {%- if mart not in ('pipedrive__organizations', 'pipedrive__organization_relationships', 'pipedrive__products',
                        'pipedrive__deals', 'pipedrive__files', 'pipedrive__projects', 'pipedrive__owner_candidates') %}
    select f.source_collection, f.source_id
    from (select unnest(folded_sources) as f from {{ ref(mart) }})
    union all
    {%- endif %}
    {%- endfor %}
    select source_collection, source_id from {{ ref('migration__skipped') }} where kind = 'skipped'
)

select r.source_collection, r.source_id
from raw_records r
anti join represented p on p.source_collection = r.source_collection and p.source_id = r.source_id
