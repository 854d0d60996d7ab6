-- Every live client id -> the natural keys of the Person it became (its survivor's, when merged)
-- and of that Person's organisation: what every other object attaches to.
select
    c.client_id,
    c.person_client_id,
    p.name as person_name,
    {{ natural_key('clients', 'c.person_client_id') }} as person_key,
    p.org_key
from {{ ref('int_clients_resolved') }} c
join {{ ref('int_persons_unioned') }} p
    on p.source_collection = 'clients' and p.source_id = c.person_client_id
