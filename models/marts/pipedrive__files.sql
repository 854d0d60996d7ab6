-- Documents as Pipedrive Files on the Person (rule 6): names made safe for every file system (no
-- path separators or reserved characters; duplicates on one Person numbered), content type from
-- the extension when the source's disagrees, within the configured size limit. Empty or larger
-- files are in migration__skipped for manual transfer.
with documents as (
    select * from {{ ref('stg_visual_practice__documents') }}
    where size_bytes > 0 and size_bytes <= {{ var('file_size_limit_bytes', 52428800) }}
),

keys as (
    select * from {{ ref('int_client_keys') }}
),

bodies as (
    select document_id, path as local_path, status as download_status
    from {{ source('visual_practice', '_document_files') }}
),

activities as (
    select source_id as appointment_id, natural_key as activity_key from {{ ref('pipedrive__activities') }}
),

named as (
    select
        d.*,
        k.person_key,
        coalesce(nullif(trim(regexp_replace(regexp_replace(d.source_filename, '[<>:"/\\|?*\x00-\x1f]', '-', 'g'),
            '-{2,}', '-', 'g'), ' .'), ''), 'document-' || d.document_id) as safe_name,
        lower(regexp_extract(d.source_filename, '\.([A-Za-z0-9]{1,5})$', 1)) as extension
    from documents d
    join keys k on k.client_id = d.client_id
),

numbered as (
    select
        n.*,
        row_number() over (partition by n.person_key, lower(n.safe_name) order by n.uploaded_at, n.document_id) as copy_number
    from named n
)

select
    {{ natural_key('documents', 'n.document_id') }} as natural_key,
    'documents' as source_collection,
    n.document_id as source_id,
    case when n.copy_number = 1 then n.safe_name
         when n.extension <> '' then regexp_replace(n.safe_name, '\.[A-Za-z0-9]{1,5}$', '')
              || ' (' || cast(n.copy_number as varchar) || ').' || n.extension
         else n.safe_name || ' (' || cast(n.copy_number as varchar) || ')' end as file_name,
    n.source_filename,
    coalesce(case n.extension
        when 'pdf' then 'application/pdf' when 'jpg' then 'image/jpeg' when 'jpeg' then 'image/jpeg'
        when 'png' then 'image/png' when 'txt' then 'text/plain' when 'dcm' then 'application/dicom'
        when 'docx' then 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
        when 'doc' then 'application/msword' when 'tif' then 'image/tiff' when 'tiff' then 'image/tiff'
        end, n.content_type) as content_type,
    n.content_type as source_content_type,
    n.size_bytes,
    n.sha256,
    n.category,
    n.person_key,
    a.activity_key,
    b.local_path,
    b.download_status
from numbered n
left join activities a on a.appointment_id = n.appointment_id
left join bodies b on b.document_id = n.document_id
