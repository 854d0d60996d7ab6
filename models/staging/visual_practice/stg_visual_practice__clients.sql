with source as (
    select * from {{ source('visual_practice', 'clients') }}
    where _deleted_at is null
),

renamed as (
    select
        id as client_id,
        chart_number,
        nullif(trim(title), '') as title,
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        {{ clean_name('display_name') }} as display_name,
        -- The display name is what the screen shows and disagrees with first/last on some
        -- records; first/last are the structured truth, the display name the fallback.
        coalesce(
            nullif(concat_ws(' ', {{ clean_name('first_name') }}, {{ clean_name('last_name') }}), ''),
            {{ clean_name("array_to_string(list_reverse(string_split(display_name, ',')), ' ')") }}
        ) as full_name,
        upper(trim(display_name)) is distinct from
            upper(concat_ws(', ', nullif(trim(regexp_replace(last_name, '\s+', ' ', 'g')), ''),
                                  nullif(trim(regexp_replace(first_name, '\s+', ' ', 'g')), '')))
            as display_name_differs,
        sex,
        date_of_birth,
        nullif(trim(health_number), '') as health_number,
        nullif(trim(version_code), '') as version_code,
        list_transform(coalesce(emails, []), lambda e: struct_pack(
            address := {{ normalise_email('e.address') }},
            raw_address := e.address,
            label := e.label,
            is_primary := coalesce(e."primary", false),
            is_valid := {{ email_is_valid(normalise_email('e.address')) }}
        )) as emails,
        list_transform(coalesce(phones, []), lambda p: struct_pack(
            number := {{ normalise_phone('p.number') }},
            raw_number := p.number,
            label := p.label,
            is_primary := coalesce(p."primary", false),
            is_valid := {{ phone_is_valid('p.number') }}
        )) as phones,
        {{ address_line('address') }} as address,
        {{ named_id('organizations', 'organization_id', 'organization_id_display') }} as organization_id,
        organization_id_display,
        {{ named_id('locations', 'location_id', 'location_id_display') }} as location_id,
        location_id_display,
        lower(trim(status)) as status,
        {{ to_utc('status_changed_at') }} as status_changed_at,
        {{ named_id('referral_sources', 'referral_source_id', 'referral_source_id_display') }} as referral_source_id,
        referral_source_id_display,
        nullif(trim(utm.source), '') as utm_source,
        nullif(trim(utm.medium), '') as utm_medium,
        nullif(trim(utm.campaign), '') as utm_campaign,
        {{ staff_id('default_practitioner_id', 'default_practitioner_id_display') }} as default_practitioner_id,
        default_practitioner_id_display,
        list_transform(coalesce(contacts, []), lambda c: struct_pack(
            name := {{ clean_name('c.name') }},
            relationship := lower(trim(c.relationship)),
            email := {{ normalise_email('c.email') }},
            email_is_valid := {{ email_is_valid(normalise_email('c.email')) }},
            phone := {{ normalise_phone('c.phone') }},
            phone_is_valid := {{ phone_is_valid('c.phone') }}
        )) as contacts,
        coalesce(custom_properties, '{}')::json as custom_properties,
        {{ to_utc('archived_at') }} as archived_at,
        coalesce(merged_into_id, merged_into_id_display) as merged_into_id,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
)

select * from renamed
