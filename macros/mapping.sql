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

{#- Pipedrive has no boolean field type: a yes/no field is a single-option (enum) field whose two
    options are var `yes_no_options` (default Yes, No). A map entry typed boolean (the source's
    type) becomes that enum in pipedrive__custom_fields and an option label in the marts. -#}
{% macro pipedrive_field_type(field_type) -%}
    {{- 'enum' if field_type == 'boolean' else field_type -}}
{%- endmacro %}

{% macro yes_no_options() -%}
    {{ return(var('yes_no_options', ['Yes', 'No'])) }}
{%- endmacro %}

{#- A SQL boolean as its yes/no option label (NULL stays NULL). -#}
{% macro yes_no_label(expr) -%}
    (case when {{ expr }} then '{{ yes_no_options()[0] }}' when not {{ expr }} then '{{ yes_no_options()[1] }}' end)
{%- endmacro %}

{#- A custom property's text as the source holds it: trimmed, empty is NULL. -#}
{% macro custom_property_text(json_column, label) -%}
    {%- set path = "'$.\"" ~ label | replace("'", "''") | replace('"', '\\"') ~ "\"'" -%}
    nullif(trim(json_extract_string({{ json_column }}, {{ path }})), '')
{%- endmacro %}

{#- A custom property's value, read as the map's type; values of mixed types in the source
    ("Yes"/true, "2024-07-25"/"25/07/2024") become one Pipedrive value. A value the type cannot
    read is NULL here and reported by `custom_property_failures`, never lost silently. -#}
{% macro custom_property(json_column, label, field_type) -%}
    {%- set text = custom_property_text(json_column, label) -%}
    {%- if field_type in ('double', 'monetary', 'int') -%}
        {#- "$1,200", "12 visits", "2.5 h": the number, its currency sign, separators and unit word dropped. -#}
        try_cast(regexp_extract(replace(replace({{ text }}, '$', ''), ',', ''), '^\s*([-+]?[0-9]+(\.[0-9]+)?)\s*[[:alpha:]]*\s*$', 1) as double)
    {%- elif field_type == 'boolean' -%}
        {#- English and French spellings (the contract's practices are Canadian). -#}
        {{ yes_no_label("(case when lower(" ~ text ~ ") in ('true', 'yes', 'y', '1', 'oui', 'o', 'vrai') then true "
                        ~ "when lower(" ~ text ~ ") in ('false', 'no', 'n', '0', 'non', 'faux') then false end)") }}
    {%- elif field_type == 'date' -%}
        coalesce(try_strptime({{ text }}, '%Y-%m-%d'), try_strptime({{ text }}, '%Y%m%d'),
                 try_strptime({{ text }}, '%d/%m/%Y'))::date
    {%- else -%}
        {{ text }}
    {%- endif -%}
{%- endmacro %}

{#- What a value of a typed custom property must look like, said in the report. -#}
{% macro custom_property_expected(field_type) -%}
    {%- if field_type in ('double', 'monetary', 'int') -%} a number
    {%- elif field_type == 'boolean' -%} yes/no (true/false, yes/no, y/n, 1/0, oui/non)
    {%- elif field_type == 'date' -%} a date (YYYY-MM-DD, YYYYMMDD or DD/MM/YYYY)
    {%- endif -%}
{%- endmacro %}

{#- The custom-property values of `relation` (rows with source_collection, source_id and the JSON)
    that the map's type cannot read: one migration__skipped row each (kind 'reported': the record
    is sent with that field empty), naming the record, the field and the value as written. -#}
{% macro custom_property_failures(object, relation, json_column='custom_properties') -%}
    {%- set typed = [] -%}
    {%- for entry in mapped_custom_fields(object) -%}
        {%- if entry['field'].startswith('custom_properties.') and entry['type'] in ('double', 'monetary', 'int', 'boolean', 'date') -%}
            {%- do typed.append(entry) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for entry in typed %}
    {%- set label = entry['field'][18:] %}
    {%- set text = custom_property_text('r.' ~ json_column, label) %}
    select r.source_collection, r.source_id, 'custom_property_invalid' as reason,
           'custom property {{ label | replace("'", "''") }} = "' || left({{ text }}, 80) || '" is not '
           || '{{ custom_property_expected(entry["type"]) }}: {{ entry["custom_field"] }} left empty' as detail,
           'reported' as kind, '{{ entry["custom_field"] }}' as field
    from {{ relation }} r
    where {{ text }} is not null and {{ custom_property('r.' ~ json_column, label, entry['type']) }} is null
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {%- if not typed %}
    select null::varchar as source_collection, null::varchar as source_id, null::varchar as reason,
           null::varchar as detail, null::varchar as kind, null::varchar as field
    where false
    {%- endif %}
{%- endmacro %}

{#- The mart's custom-field columns, named by the field's Pipedrive name. A rule-computed field
    is read from the intermediate model's column of the same name; a custom property from the
    record's custom_properties JSON. Yes/no fields carry their option label. -#}
{% macro custom_field_columns(object, relation_alias, json_column='custom_properties') -%}
    {%- for entry in mapped_custom_fields(object) %}
        {%- if entry['field'].startswith('custom_properties.') %}
        , {{ custom_property(relation_alias ~ '.' ~ json_column, entry['field'][18:], entry['type']) }} as "{{ entry['custom_field'] }}"
        {%- elif entry['type'] == 'boolean' %}
        , {{ yes_no_label(relation_alias ~ '."' ~ entry['custom_field'] ~ '"') }} as "{{ entry['custom_field'] }}"
        {%- else %}
        , {{ relation_alias }}."{{ entry['custom_field'] }}"
        {%- endif %}
    {%- endfor %}
{%- endmacro %}


{#- A Jinja list as a SQL VARCHAR[] literal. -#}
{% macro sql_list(values) -%}
    [{%- for v in values %}'{{ v | string | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor %}]::varchar[]
{%- endmacro %}
