-- Every Person the load creates, with the rule-computed custom fields named as in Pipedrive:
-- clients (merged ones folded into their survivor), each non-primary contact of a client (rule 1),
-- and former practitioners on the practice organisation (rule 7).
with clients as (
    select * from {{ ref('int_clients_resolved') }}
),

practice as (
    select organization_key from {{ ref('int_practice_organization') }}
),

staff as (
    select * from {{ ref('stg_visual_practice__staff') }}
),

locations as (
    select * from {{ ref('stg_visual_practice__locations') }}
),

referral_sources as (
    select * from {{ ref('stg_visual_practice__referral_sources') }}
),

live_orgs as (
    select organization_id from {{ ref('stg_visual_practice__organizations') }}
),

invoices as (
    select * from {{ ref('int_invoices_summarised') }}
    where person_client_id is not null
),

last_invoice as (
    select
        person_client_id,
        arg_max(billed_amount, (issue_date, invoice_id)) filter (where not is_void) as last_invoice_amount,
        max(last_payment_on) filter (where not is_void) as last_payment_date
    from invoices
    group by 1
),

loose_service_records as (
    -- Service records outside contracts set the Person's Service_Type (rule 4).
    select
        c.person_client_id,
        list_sort(list_distinct(list(sv.category) filter (where sr.status <> 'cancelled' and sv.category is not null)))
            as service_types,
        list({'source_collection': 'service_records', 'source_id': sr.service_record_id})
            filter (where sr.status <> 'cancelled') as record_sources
    from {{ ref('stg_visual_practice__service_records') }} sr
    join clients c on c.client_id = sr.client_id
    left join {{ ref('stg_visual_practice__services') }} sv on sv.service_id = sr.service_id
    where sr.contract_id is null and c.person_client_id is not null
    group by 1
),

merged_in as (
    select person_client_id, list({'source_collection': 'clients', 'source_id': client_id}) as merged_sources
    from clients
    where is_merged and person_client_id is not null
    group by 1
),

client_persons as (
    select
        'clients' as source_collection,
        c.client_id as source_id,
        c.full_name as name,
        c.emails,
        c.phones,
        c.address,
        c.date_of_birth as birthday,
        case when c.organization_id in (select organization_id from live_orgs)
             then {{ natural_key('organizations', 'c.organization_id') }} end as org_key,
        c.owner_email,
        c.created_at as add_time,
        c.custom_properties,
        c.duplicate_of is not null as is_probable_duplicate,
        case {% for source_status, option in var('status_map', {}).items() %}
            when c.status = '{{ source_status }}' then '{{ option }}'{% endfor %}
        end as "Client_Status",
        c.status as source_status,
        strftime(c.status_changed_at, '%Y-%m-%dT%H:%M:%SZ') as "Status_Changed",
        l.location_name as "Location",
        r.referral_source_name as "Referral_Source",
        c.utm_source as "UTM_Source",
        c.utm_medium as "UTM_Medium",
        c.utm_campaign as "UTM_Campaign",
        c.client_id as "Source_System_ID",
        cast(c.created_at as date) as "Original_Create_Date",
        c.chart_number as "Chart_Number",
        cast(null as varchar) as "Primary_Client",
        c.duplicate_of as "Possible_Duplicate_Of",
        s.service_types as "Service_Type",
        li.last_invoice_amount as "Last_Invoice_Amount",
        li.last_payment_date as "Last_Payment_Date",
        cast(null as boolean) as "Practitioner_Former",
        list_concat(coalesce(m.merged_sources, []), coalesce(s.record_sources, [])) as folded_sources
    from clients c
    left join locations l on l.location_id = c.location_id
    left join referral_sources r on r.referral_source_id = c.referral_source_id
    left join last_invoice li on li.person_client_id = c.client_id
    left join loose_service_records s on s.person_client_id = c.client_id
    left join merged_in m on m.person_client_id = c.client_id
    where not c.is_merged
),

contact_persons as (
    select
        'clients.contacts' as source_collection,
        c.client_id || '/' || cast(k.n as varchar) as source_id,
        c.contacts[k.n].name as name,
        case when c.contacts[k.n].email is not null then [struct_pack(
            address := c.contacts[k.n].email, raw_address := c.contacts[k.n].email, label := 'home',
            is_primary := true, is_valid := c.contacts[k.n].email_is_valid)] else [] end as emails,
        case when c.contacts[k.n].phone is not null then [struct_pack(
            number := c.contacts[k.n].phone, raw_number := c.contacts[k.n].phone, label := 'home',
            is_primary := true, is_valid := c.contacts[k.n].phone_is_valid)] else [] end as phones,
        cast(null as varchar) as address,
        cast(null as date) as birthday,
        p.org_key,
        p.owner_email,
        p.add_time,
        '{}'::json as custom_properties,
        false as is_probable_duplicate,
        cast(null as varchar) as "Client_Status",
        cast(null as varchar) as source_status,
        cast(null as varchar) as "Status_Changed",
        cast(null as varchar) as "Location",
        cast(null as varchar) as "Referral_Source",
        cast(null as varchar) as "UTM_Source",
        cast(null as varchar) as "UTM_Medium",
        cast(null as varchar) as "UTM_Campaign",
        c.client_id || '/' || cast(k.n as varchar) as "Source_System_ID",
        cast(null as date) as "Original_Create_Date",
        cast(null as varchar) as "Chart_Number",
        -- With no organisation to share, the related Person points at the primary client.
        case when p.org_key is null then c.person_client_id end as "Primary_Client",
        cast(null as varchar) as "Possible_Duplicate_Of",
        cast(null as varchar[]) as "Service_Type",
        cast(null as decimal(14, 2)) as "Last_Invoice_Amount",
        cast(null as date) as "Last_Payment_Date",
        cast(null as boolean) as "Practitioner_Former",
        [] as folded_sources
    from clients c
    cross join lateral (select unnest(range(1, len(c.contacts) + 1)) as n) k
    join client_persons p on p.source_id = c.person_client_id
    where c.person_client_id is not null and c.contacts[k.n].name is not null
),

former_staff as (
    select
        'staff' as source_collection,
        s.staff_id as source_id,
        s.full_name as name,
        case when s.email is not null then [struct_pack(address := s.email, raw_address := s.email, label := 'work',
            is_primary := true, is_valid := s.email_is_valid)] else [] end as emails,
        [] as phones,
        cast(null as varchar) as address,
        cast(null as date) as birthday,
        (select organization_key from practice) as org_key,
        cast(null as varchar) as owner_email,
        s.created_at as add_time,
        '{}'::json as custom_properties,
        false as is_probable_duplicate,
        cast(null as varchar) as "Client_Status",
        cast(null as varchar) as source_status,
        cast(null as varchar) as "Status_Changed",
        cast(null as varchar) as "Location",
        cast(null as varchar) as "Referral_Source",
        cast(null as varchar) as "UTM_Source",
        cast(null as varchar) as "UTM_Medium",
        cast(null as varchar) as "UTM_Campaign",
        s.staff_id as "Source_System_ID",
        cast(s.created_at as date) as "Original_Create_Date",
        cast(null as varchar) as "Chart_Number",
        cast(null as varchar) as "Primary_Client",
        cast(null as varchar) as "Possible_Duplicate_Of",
        cast(null as varchar[]) as "Service_Type",
        cast(null as decimal(14, 2)) as "Last_Invoice_Amount",
        cast(null as date) as "Last_Payment_Date",
        true as "Practitioner_Former",
        [] as folded_sources
    from staff s
    where not s.is_active
)

select * from client_persons
union all by name
select * from contact_persons
union all by name
select * from former_staff
