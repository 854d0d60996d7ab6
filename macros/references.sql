{#- Resolving the CSV export's display-value references to ids (contract section 2): the export
    names a practitioner "SMITH, JOHN", a location or organisation by name, a service by its code.
    API rows carry the id and keep it. A display value that matches nothing stays NULL in the id
    column and is visible in the staging model's `*_display` column for the report. -#}

{% macro staff_id(id_column, display_column) -%}
    coalesce({{ id_column }}, (
        select min(s.id) from {{ source('visual_practice', 'staff') }} s
        where s._deleted_at is null
          and upper(trim(s.last_name)) || ', ' || upper(trim(s.first_name)) = upper(trim({{ display_column }}))
    ))
{%- endmacro %}

{% macro named_id(collection, id_column, display_column, match_column='name') -%}
    coalesce({{ id_column }}, (
        select min(r.id) from {{ source('visual_practice', collection) }} r
        where r._deleted_at is null and lower(trim(r.{{ match_column }})) = lower(trim({{ display_column }}))
    ))
{%- endmacro %}
