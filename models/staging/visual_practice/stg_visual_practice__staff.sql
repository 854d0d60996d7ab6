with source as (
    select * from {{ source('visual_practice', 'staff') }}
    where _deleted_at is null
),

renamed as (
    select
        id as staff_id,
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        concat_ws(' ', {{ clean_name('first_name') }}, {{ clean_name('last_name') }}) as full_name,
        {{ normalise_email('email') }} as email,
        {{ email_is_valid(normalise_email('email')) }} as email_is_valid,
        role,
        billing_number,
        specialty,
        coalesce(location_ids, (
            select list(l.id order by l.id) from {{ source('visual_practice', 'locations') }} l
            where l._deleted_at is null
              and list_contains(list_transform(location_ids_display, lambda d: lower(trim(d))), lower(trim(l.name)))
        )) as location_ids,
        coalesce(is_active, true) as is_active,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        _source as extracted_from
    from source
)

select * from renamed
