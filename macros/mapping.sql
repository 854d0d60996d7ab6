{#- The confirmed field map (customers/<slug>/mapping/confirmed.yml, passed as var `field_map`)
    drives which custom fields exist and which columns the marts carry. -#}

{#- A mart row's natural key: the loader's idempotency key and the target of every reference. -#}
{% macro natural_key(collection, id_expr) -%}
    ('{{ collection }}:' || {{ id_expr }})
{%- endmacro %}

{% macro mapped_custom_fields(object) -%}
    {%- set found = [] -%}
    {%- for entry in var('field_map', []) -%}
        {%- if entry.get('object') == object and entry.get('custom_field') -%}
            {%- do found.append(entry) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- Whether the map sends a field (custom by name, or standard target) on an object. -#}
{% macro is_mapped(object, name) -%}
    {%- for entry in var('field_map', []) -%}
        {%- if entry.get('object') == object and (entry.get('custom_field') == name or entry.get('target') == name) -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{#- A custom property's value, read as the map's type; values of mixed types in the source
    ("Yes"/true, "2024-07-25"/"25/07/2024") become one Pipedrive value or NULL. -#}
{% macro custom_property(json_column, label, field_type) -%}
    {%- set path = "'$.\"" ~ label | replace("'", "''") | replace('"', '\\"') ~ "\"'" -%}
    {%- set text = "nullif(trim(json_extract_string(" ~ json_column ~ ", " ~ path ~ ")), '')" -%}
    {%- if field_type in ('double', 'monetary', 'int') -%}
        try_cast(replace(replace({{ text }}, '$', ''), ',', '') as double)
    {%- elif field_type == 'boolean' -%}
        (case when lower({{ text }}) in ('true', 'yes', 'y', '1') then true
              when lower({{ text }}) in ('false', 'no', 'n', '0') then false end)
    {%- elif field_type == 'date' -%}
        coalesce(try_strptime({{ text }}, '%Y-%m-%d'), try_strptime({{ text }}, '%Y%m%d'),
                 try_strptime({{ text }}, '%d/%m/%Y'))::date
    {%- else -%}
        {{ text }}
    {%- endif -%}
{%- endmacro %}

{#- The mart's custom-field columns, named by the field's Pipedrive name. A rule-computed field
    is read from the intermediate model's column of the same name; a custom property from the
    record's custom_properties JSON. -#}
{% macro custom_field_columns(object, relation_alias, json_column='custom_properties') -%}
    {%- for entry in mapped_custom_fields(object) %}
        {%- if entry['field'].startswith('custom_properties.') %}
        , {{ custom_property(relation_alias ~ '.' ~ json_column, entry['field'][18:], entry['type']) }} as "{{ entry['custom_field'] }}"
        {%- else %}
        , {{ relation_alias }}."{{ entry['custom_field'] }}"
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- A Jinja list as a SQL VARCHAR[] literal. -#}
{% macro sql_list(values) -%}
    [{%- for v in values %}'{{ v | string | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor %}]::varchar[]
{%- endmacro %}
