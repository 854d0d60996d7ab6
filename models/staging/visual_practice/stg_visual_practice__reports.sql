{{ stg_definitions('reports') }}
