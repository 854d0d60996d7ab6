{#- Value cleaning shared by the staging models. Each macro returns a SQL expression. -#}

{#- A person's or organisation's name: trimmed, inner runs of spaces collapsed, and re-cased only
    when it was typed all upper or all lower case (a mixed-case name such as "MacDonald" or
    "van der Berg" is the person's own spelling and is kept). Empty becomes NULL. -#}
{% macro clean_name(column) -%}
    (case
        when nullif(trim(regexp_replace({{ column }}, '\s+', ' ', 'g')), '') is null then null
        when {{ column }} = upper({{ column }}) or {{ column }} = lower({{ column }})
            then {{ title_case("trim(regexp_replace(" ~ column ~ ", '\\s+', ' ', 'g'))") }}
        else trim(regexp_replace({{ column }}, '\s+', ' ', 'g'))
    end)
{%- endmacro %}

{#- Title Case over words separated by spaces, hyphens and apostrophes ("GENDRON-CÔTÉ" ->
    "Gendron-Côté", "O'BRIEN" -> "O'Brien"); DuckDB has no initcap. -#}
{% macro title_case(expr) -%}
    array_to_string(list_transform(string_split(lower({{ expr }}), ' '),
        lambda w: array_to_string(list_transform(string_split(w, '-'),
            lambda h: array_to_string(list_transform(string_split(h, ''''),
                lambda a: upper(a[1]) || a[2:]), '''')), '-')), ' ')
{%- endmacro %}

{#- An e-mail address as Pipedrive stores it: trimmed, lower case. -#}
{% macro normalise_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- Whether a normalised address is usable: one @, a dotted domain, no spaces. Placeholder
    addresses ("none", "noemail@noemail.com") fail so they are never sent as real contacts. -#}
{% macro email_is_valid(expr) -%}
    (coalesce(regexp_full_match({{ expr }}, '[a-z0-9._%+''-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}'), false)
     and {{ expr }} not in ({% for a in var('placeholder_emails') %}'{{ a }}'{{ ", " if not loop.last }}{% endfor %}))
{%- endmacro %}

{#- A North American phone number in E.164 (+1XXXXXXXXXX), its extension kept after " x";
    anything that is not 10 digits (or 11 starting with 1) is kept as typed and flagged. -#}
{% macro phone_digits(column) -%}
    regexp_replace(regexp_replace(lower({{ column }}), '\s*(x|ext\.?|extension)\s*[0-9]+\s*$', ''), '[^0-9]', '', 'g')
{%- endmacro %}

{% macro phone_extension(column) -%}
    nullif(regexp_extract(lower({{ column }}), '(x|ext\.?|extension)\s*([0-9]+)\s*$', 2), '')
{%- endmacro %}

{% macro normalise_phone(column) -%}
    (case
        when nullif(trim({{ column }}), '') is null then null
        when length({{ phone_digits(column) }}) = 10
            then '+1' || {{ phone_digits(column) }} || coalesce(' x' || {{ phone_extension(column) }}, '')
        when length({{ phone_digits(column) }}) = 11 and starts_with({{ phone_digits(column) }}, '1')
            then '+' || {{ phone_digits(column) }} || coalesce(' x' || {{ phone_extension(column) }}, '')
        else trim({{ column }})
    end)
{%- endmacro %}

{% macro phone_is_valid(column) -%}
    (length({{ phone_digits(column) }}) = 10
     or (length({{ phone_digits(column) }}) = 11 and starts_with({{ phone_digits(column) }}, '1')))
{%- endmacro %}

{#- A source date-time as naive UTC. API timestamps are UTC already; CSV date-times are the
    practice's wall-clock time with no zone, converted with the practice's IANA zone (ICU applies
    the offset in force on that date, so DST is handled; an ambiguous fall-back time resolves to
    the later, standard-time instant). -#}
{% macro to_utc(column, source_column='_source') -%}
    (case when {{ source_column }} = 'csv'
          then timezone('UTC', timezone('{{ var("timezone") }}', {{ column }}))::timestamp
          else {{ column }} end)
{%- endmacro %}

{#- Money from the raw layer (already DECIMAL(14,2)) kept exact. -#}
{% macro money(column) -%}
    cast({{ column }} as decimal(14, 2))
{%- endmacro %}

{#- Postal address as one line (Pipedrive's address `value`). -#}
{% macro address_line(column) -%}
    nullif(concat_ws(', ', nullif(trim({{ column }}.line1), ''), nullif(trim({{ column }}.line2), ''),
        nullif(trim({{ column }}.city), ''),
        nullif(trim(concat_ws(' ', nullif(trim({{ column }}.province), ''), nullif(trim({{ column }}.postal_code), ''))), ''),
        nullif(trim({{ column }}.country), '')), '')
{%- endmacro %}

{#- Source text placed inside note HTML: escaped, so a description can never become markup. -#}
{% macro html_escape(expr) -%}
    replace(replace(replace(coalesce(cast({{ expr }} as varchar), ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;')
{%- endmacro %}
