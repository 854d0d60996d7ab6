{# Staging of a configuration-definition collection (automations, templates, reports): they share
   one shape in the contract (id, name, kind, is_active), so one macro stages all three. #}
{% macro stg_definitions(collection) %}
with source as (
    select * from {{ source('visual_practice', collection) }}
    where _deleted_at is null
),

renamed as (
    select
        id as definition_id,
        name as definition_name,
        kind,
        coalesce(is_active, true) as is_active,
        _source as extracted_from
    from source
)

select * from renamed
{% endmacro %}
