{{ stg_definitions('templates') }}
