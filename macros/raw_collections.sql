{#- The raw collections and their key column: what the accounting test walks. -#}
{% macro raw_collections() -%}
    {{ return([
        ('practice', 'id'), ('locations', 'id'), ('staff', 'id'), ('organizations', 'id'),
        ('referral_sources', 'id'), ('services', 'id'), ('clients', 'id'), ('service_contracts', 'id'),
        ('service_records', 'id'), ('appointments', 'id'), ('appointment_notes', 'id'), ('invoices', 'id'),
        ('claims', 'id'), ('documents', 'id'), ('custom_objects', 'key'), ('custom_object_records', 'id'),
        ('automations', 'id'), ('templates', 'id'), ('reports', 'id'),
    ]) }}
{%- endmacro %}

{#- The marts a source record can be represented in (directly or folded into a row). -#}
{% macro record_marts() -%}
    {{ return(['pipedrive__organizations', 'pipedrive__organization_relationships', 'pipedrive__persons',
               'pipedrive__products', 'pipedrive__deals', 'pipedrive__deal_products', 'pipedrive__activities',
               'pipedrive__notes', 'pipedrive__files', 'pipedrive__projects', 'pipedrive__custom_fields',
               'pipedrive__owner_candidates']) }}
{%- endmacro %}
