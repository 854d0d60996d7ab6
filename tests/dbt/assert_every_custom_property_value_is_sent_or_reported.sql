-- The accounting of custom-property values: every non-empty value of a mapped custom property
-- is either sent (its Person column is not NULL) or reported in migration__skipped as a value
-- the map's type cannot read, naming the field. Returns the values that would vanish.
{%- set entries = [] %}
{%- for entry in var('field_map', []) if entry.get('object') == 'person' and entry.get('custom_field')
    and entry.get('field', '').startswith('custom_properties.') %}
    {%- do entries.append(entry) %}
{%- endfor %}
with source_values as (
    {%- for e in entries %}
    select p.source_collection, p.source_id, '{{ e["custom_field"] }}' as field
    from {{ ref('int_persons_unioned') }} p
    where {{ custom_property_text('p.custom_properties', e['field'][18:]) }} is not null
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {%- if not entries %}
    select null::varchar as source_collection, null::varchar as source_id, null::varchar as field where false
    {%- endif %}
),

sent as (
    {%- for e in entries %}
    select source_collection, source_id, '{{ e["custom_field"] }}' as field
    from {{ ref('pipedrive__persons') }} where "{{ e['custom_field'] }}" is not null
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {%- if not entries %}
    select null::varchar, null::varchar, null::varchar where false
    {%- endif %}
),

reported as (
    select source_collection, source_id, field from {{ ref('migration__skipped') }}
    where reason = 'custom_property_invalid'
)

select v.* from source_values v
anti join sent s on s.source_collection = v.source_collection and s.source_id = v.source_id and s.field = v.field
anti join reported r on r.source_collection = v.source_collection and r.source_id = v.source_id and r.field = v.field
