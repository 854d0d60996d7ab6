-- Every source record that is not sent, with its reason (kind = 'skipped'), and every record
-- that is sent but needs a person's attention (kind = 'reported': probable duplicates, orphan
-- parents, statuses outside the status map, invalid e-mails and phones dropped, custom-property
-- values the map's type cannot read). `field` names the Pipedrive field a value-level row is about.
with clients as (select * from {{ ref('int_clients_resolved') }}),
keys as (select * from {{ ref('int_client_keys') }}),
appointments as (select * from {{ ref('int_appointments_classified') }}),
deals as (select source_id from {{ ref('pipedrive__deals') }}),
products as (select source_id from {{ ref('pipedrive__products') }}),

skipped as (
    {%- for name, key in raw_collections() %}
    select '{{ name }}' as source_collection, cast("{{ key }}" as varchar) as source_id, 'deleted_in_source' as reason,
           'deleted at ' || cast(_deleted_at as varchar) as detail, 'skipped' as kind
    from {{ source('visual_practice', name) }} where _deleted_at is not null
    union all
    {%- endfor %}
    {%- for name in ['automations', 'templates', 'reports'] %}
    select '{{ name }}', definition_id, 'configuration_not_data',
           'a Visual Practice ' || '{{ name }}' || ' definition (' || coalesce(definition_name, '') || '): rebuild in Pipedrive by hand', 'skipped'
    from {{ ref('stg_visual_practice__' ~ name) }}
    union all
    {%- endfor %}
    select 'clients', client_id, 'merged_into_survivor', 'records follow client ' || person_client_id, 'skipped'
    from clients where is_merged and person_client_id is not null
    union all
    select 'clients', client_id, 'merge_survivor_missing', 'merged into ' || merged_into_id || ', which is not in the source', 'skipped'
    from clients where person_client_id is null
    union all
    select 'appointments', appointment_id, skip_reason,
           case skip_reason
               when 'template_slot' then 'a template slot, never migrated'
               when 'client_missing' then 'client ' || coalesce(client_id, '?') || ' is not in the source'
               else 'status ' || status || ' (customer rule keep_appointments)' end, 'skipped'
    from appointments where skip_reason is not null
    union all
    select 'appointment_notes', n.appointment_note_id, 'client_missing', 'client ' || coalesce(n.client_id, '?') || ' is not in the source', 'skipped'
    from {{ ref('stg_visual_practice__appointment_notes') }} n anti join keys k on k.client_id = n.client_id
    union all
    select 'invoices', i.invoice_id, 'client_missing', 'client ' || coalesce(i.client_id, '?') || ' is not in the source', 'skipped'
    from {{ ref('stg_visual_practice__invoices') }} i anti join keys k on k.client_id = i.client_id
    union all
    select 'claims', c.claim_id,
           case when {{ 'false' if var('migrate_claims', false) else 'true' }} then 'phi_not_retained' else 'client_missing' end,
           case when {{ 'false' if var('migrate_claims', false) else 'true' }}
                then 'claims are PHI: migrated only under a retention rule (rules.claims.migrate)'
                else 'client ' || coalesce(c.client_id, '?') || ' is not in the source' end, 'skipped'
    from {{ ref('stg_visual_practice__claims') }} c
    where not {{ 'true' if var('migrate_claims', false) else 'false' }} or c.client_id not in (select client_id from keys)
    union all
    select 'documents', d.document_id,
           case when coalesce(d.size_bytes, 0) = 0 then 'empty_file'
                when d.size_bytes > {{ var('file_size_limit_bytes', 52428800) }} then 'file_too_large'
                else 'client_missing' end,
           case when coalesce(d.size_bytes, 0) = 0 then d.source_filename || ' is empty: transfer by hand if needed'
                when d.size_bytes > {{ var('file_size_limit_bytes', 52428800) }}
                    then d.source_filename || ' is ' || cast(d.size_bytes as varchar) || ' bytes, over the '
                         || cast({{ var('file_size_limit_bytes', 52428800) }} as varchar) || '-byte limit: transfer by hand'
                else 'client ' || coalesce(d.client_id, '?') || ' is not in the source' end, 'skipped'
    from {{ ref('stg_visual_practice__documents') }} d
    where coalesce(d.size_bytes, 0) = 0 or d.size_bytes > {{ var('file_size_limit_bytes', 52428800) }}
       or d.client_id not in (select client_id from keys)
    union all
    select 'services', service_id, 'not_billable', service_name || ' is not billable: no Product', 'skipped'
    from {{ ref('stg_visual_practice__services') }} where not is_billable
    union all
    select 'service_contracts', c.contract_id, 'client_missing', 'client ' || coalesce(c.client_id, '?') || ' is not in the source', 'skipped'
    from {{ ref('stg_visual_practice__service_contracts') }} c anti join deals d on d.source_id = c.contract_id
    union all
    select 'service_records', r.service_record_id,
           case when r.status = 'cancelled' then 'cancelled'
                when r.contract_id is not null and r.contract_id not in (select source_id from deals) then 'contract_not_migrated'
                when r.contract_id is not null then 'service_not_a_product'
                else 'client_missing' end,
           'status ' || r.status || coalesce(', contract ' || r.contract_id, '') || coalesce(', service ' || r.service_id, ''), 'skipped'
    from {{ ref('stg_visual_practice__service_records') }} r
    where r.status = 'cancelled'
       or (r.contract_id is not null and (r.contract_id not in (select source_id from deals)
                                          or coalesce(r.service_id, '') not in (select source_id from products)))
       or (r.contract_id is null and r.client_id not in (select client_id from keys))
    union all
    select 'staff', staff_id, 'no_usable_email', 'active staff without a valid e-mail cannot be matched to a user', 'skipped'
    from {{ ref('stg_visual_practice__staff') }} where is_active and not coalesce(email_is_valid, false)
    union all
    select 'custom_object_records', r.record_id, 'object_type_missing', 'custom object ' || r.object_key || ' is not defined', 'skipped'
    from {{ ref('stg_visual_practice__custom_object_records') }} r
    where r.object_key not in (select object_key from {{ ref('stg_visual_practice__custom_objects') }})
),

reported as (
    select 'organizations', organization_id, 'orphan_parent',
           'parent ' || coalesce(parent_id, parent_id_display) || ' does not exist: no parent relationship', 'reported'
    from {{ ref('stg_visual_practice__organizations') }}
    where coalesce(parent_id, parent_id_display) is not null
      and (parent_id is null or parent_id not in (select organization_id from {{ ref('stg_visual_practice__organizations') }}))
    union all
    select 'clients', client_id, 'probable_duplicate', 'same name and date of birth as client ' || duplicate_of || ': kept, flagged for review', 'reported'
    from clients where duplicate_of is not null
    {%- if is_mapped('person', 'Client_Status') %}
    union all
    select 'clients', source_id, 'status_unmapped', 'status ' || coalesce(source_status, 'NULL') || ' is not in rules.status_map: Client_Status left empty', 'reported'
    from {{ ref('pipedrive__persons') }} where source_collection = 'clients' and "Client_Status" is null
    {%- endif %}
    union all
    select 'clients', source_id, 'invalid_contact_values',
           'not sent: ' || array_to_string(list_concat(invalid_emails, invalid_phones), ', '), 'reported'
    from {{ ref('pipedrive__persons') }} where source_collection = 'clients' and len(invalid_emails) + len(invalid_phones) > 0
    union all
    select 'custom_objects', c.object_key, 'junction_not_expressible',
           'relation to ' || r."to" || ' (' || r.kind || ') has no Project link in Pipedrive: recreate by hand', 'reported'
    from {{ ref('stg_visual_practice__custom_objects') }} c
    cross join lateral (select unnest(c.relations) as r)
    where r."to" not in ('clients', 'organizations', 'service_contracts')
),

custom_values as (select * from {{ ref('int_custom_values_rejected') }})

select source_collection, source_id, reason, detail, kind, cast(null as varchar) as field from skipped
union all
select *, cast(null as varchar) as field from reported
union all by name
select * from custom_values
