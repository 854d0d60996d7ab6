-- Every custom field the load pre-creates (object, name, type, options), from the confirmed field
-- map; pick-list options come from the map or from the source's own values (`options_from`), and
-- each custom object type's fields become project fields on its board (rule 12). Pipedrive has
-- no boolean type: a yes/no field is an enum of `yes_no_options` (macros/mapping.sql).
{%- set entries = [] %}
{%- for entry in var('field_map', []) if entry.get('custom_field') %}
    {%- do entries.append(entry) %}
{%- endfor %}
with mapped as (
    {%- for e in entries %}
    select
        '{{ e["object"] }}' as object,
        '{{ e["custom_field"] }}' as field_name,
        '{{ pipedrive_field_type(e["type"]) }}' as field_type,
        {{ sql_list(yes_no_options() if e["type"] == 'boolean' else e.get('options', [])) }} as fixed_options,
        {{ ("'" ~ e["options_from"] ~ "'") if e.get("options_from") else "null" }} as options_from,
        '{{ e["collection"] }}.{{ e["field"] | replace("'", "''") }}' as mapped_from
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {%- if not entries %}
    select null as object, null as field_name, null as field_type, []::varchar[] as fixed_options,
           null as options_from, null as mapped_from where false
    {%- endif %}
),

option_values as (
    select 'locations.name' as options_from, location_name as label,
           {'source_collection': 'locations', 'source_id': location_id} as option_source
    from {{ ref('stg_visual_practice__locations') }}
    union all
    select 'referral_sources.name', referral_source_name,
           {'source_collection': 'referral_sources', 'source_id': referral_source_id}
    from {{ ref('stg_visual_practice__referral_sources') }}
    union all
    select 'services.category', category, null
    from {{ ref('stg_visual_practice__services') }}
    where category is not null
),

options as (
    select
        options_from,
        list_sort(list_distinct(list(label))) as options,
        list(option_source) filter (where option_source is not null) as folded_sources
    from option_values
    group by 1
),

from_map as (
    select
        m.object,
        m.field_name,
        m.field_type,
        case when m.options_from is not null then coalesce(o.options, []) else m.fixed_options end as options,
        m.mapped_from,
        coalesce(o.folded_sources, []) as folded_sources
    from mapped m
    left join options o on o.options_from = m.options_from
),

project_fields as (
    select
        'project' as object,
        f.label as field_name,
        case f.type when 'money' then 'monetary' when 'date' then 'date' when 'boolean' then 'enum'
                    when 'number' then 'double' else 'varchar' end as field_type,
        case when f.type = 'boolean' then {{ sql_list(yes_no_options()) }} else []::varchar[] end as options,
        'custom_objects.' || c.object_key || '.' || f.key as mapped_from,
        [{'source_collection': 'custom_objects', 'source_id': c.object_key}] as folded_sources
    from {{ ref('stg_visual_practice__custom_objects') }} c
    cross join lateral (select unnest(c.object_fields) as f)
)

select
    object || ':' || field_name as natural_key,
    'field_map' as source_collection,
    mapped_from as source_id,
    object,
    field_name,
    field_type,
    options,
    folded_sources
from (
    select * from from_map
    union all by name
    -- One project field per label across boards (Pipedrive project fields are account-wide).
    select object, field_name, any_value(field_type) as field_type, any_value(options) as options,
           string_agg(mapped_from, ', ' order by mapped_from) as mapped_from, flatten(list(folded_sources)) as folded_sources
    from project_fields group by 1, 2
)
