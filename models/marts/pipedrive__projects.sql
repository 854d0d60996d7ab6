-- Custom-object records as Pipedrive Projects (rule 12): one board per custom object type, the
-- record's fields as project fields (by label), its links as person_ids / org_ids (N:N kept).
with records as (
    select * from {{ ref('stg_visual_practice__custom_object_records') }}
),

objects as (
    select * from {{ ref('stg_visual_practice__custom_objects') }}
),

keys as (
    select * from {{ ref('int_client_keys') }}
),

orgs as (
    select source_id as organization_id, natural_key as org_key from {{ ref('pipedrive__organizations') }}
    where source_collection = 'organizations'
),

linked as (
    select
        r.record_id,
        list_sort(list_distinct(list(k.person_key) filter (where k.person_key is not null))) as person_keys
    from records r
    cross join lateral (select unnest(r.client_ids) as client_id) u
    left join keys k on k.client_id = u.client_id
    group by 1
),

linked_orgs as (
    select r.record_id, list_sort(list_distinct(list(o.org_key) filter (where o.org_key is not null))) as org_keys
    from records r
    cross join lateral (select unnest(r.organization_ids) as organization_id) u
    left join orgs o on o.organization_id = u.organization_id
    group by 1
)

select
    {{ natural_key('custom_object_records', 'r.record_id') }} as natural_key,
    'custom_object_records' as source_collection,
    r.record_id as source_id,
    o.object_label as board_name,
    o.object_label || ' ' || coalesce(
        json_extract_string(r.record_fields, '$.' || o.object_fields[1].key), r.record_id) as title,
    coalesce(lp.person_keys, []) as person_keys,
    coalesce(lo.org_keys, []) as org_keys,
    [] as deal_keys,
    -- Project fields by the object's field labels (keys are resolved at load time); yes/no as labels.
    to_json(map_from_entries(list_transform(o.object_fields, lambda f: struct_pack(
        k := f.label, v := case when f.type = 'boolean'
            then {{ yes_no_label("try_cast(json_extract_string(r.record_fields, '$.' || f.key) as boolean)") }}
            else json_extract_string(r.record_fields, '$.' || f.key) end)))) as project_fields,
    r.object_key,
    strftime(r.created_at, '%Y-%m-%d') as start_date
from records r
join objects o on o.object_key = r.object_key
left join linked lp on lp.record_id = r.record_id
left join linked_orgs lo on lo.record_id = r.record_id
