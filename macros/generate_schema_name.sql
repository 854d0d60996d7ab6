{#- Folder schemas are used as named (staging, intermediate, pipedrive), not prefixed with the
    target schema: the loader reads `pipedrive.*` whatever the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
