-- Parent organisations as Pipedrive `parent` relationships (v1 organizationRelationships):
-- rel_owner_org is the parent, rel_linked_org the child. An orphan parent is reported in
-- migration__skipped; the child organisation itself is still created.
with organizations as (
    select * from {{ ref('stg_visual_practice__organizations') }}
)

select
    {{ natural_key('organizations', "child.organization_id || '/parent'") }} as natural_key,
    'organizations' as source_collection,
    child.organization_id as source_id,
    'parent' as type,
    {{ natural_key('organizations', 'child.organization_id') }} as org_key,
    {{ natural_key('organizations', 'parent.organization_id') }} as rel_owner_org_key,
    {{ natural_key('organizations', 'child.organization_id') }} as rel_linked_org_key
from organizations child
join organizations parent on parent.organization_id = child.parent_id
where child.parent_id <> child.organization_id
