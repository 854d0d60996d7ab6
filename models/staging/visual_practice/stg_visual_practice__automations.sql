{{ stg_definitions('automations') }}
