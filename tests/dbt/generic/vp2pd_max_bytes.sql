{#- Rows whose text is longer than `max_bytes` UTF-8 bytes (Pipedrive refuses notes over 100 KB). -#}
{% test vp2pd_max_bytes(model, column_name, max_bytes) %}
select * from {{ model }} where strlen({{ column_name }}) > {{ max_bytes }}
{% endtest %}
