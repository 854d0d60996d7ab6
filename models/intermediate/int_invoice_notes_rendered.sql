-- Each invoice as a block of note HTML (rule 5): number, dates, type, status, every line with its
-- status (a rejected line shows as rejected; its resubmission is the line that counts), the
-- payments, and what it bills. A void invoice is noted and not totalled.
select
    i.*,
    '<p><b>Invoice ' || {{ html_escape('i.invoice_number') }} || '</b> (' || {{ html_escape('i.bill_type') }} || ', '
        || {{ html_escape('i.status') }} || ')' || case when i.is_void then ' — VOID, not totalled' else '' end || '</p>'
        || '<p>Issued ' || coalesce(cast(i.issue_date as varchar), '—') || ', due ' || coalesce(cast(i.due_date as varchar), '—') || '</p>'
        || case when len(i.lines) > 0 then '<ul>' || array_to_string(list_transform(i.lines, lambda l:
            '<li>' || {{ html_escape('l.service_code') }} || ' ' || {{ html_escape('l.description') }} || ': '
            || {{ html_escape('l.quantity') }} || ' × ' || {{ html_escape('l.unit_price') }} || ' = ' || {{ html_escape('l.amount') }}
            || ' [' || {{ html_escape('l.status') }} || coalesce(', ' || {{ html_escape('l.error_code') }}, '') || ']'
            || case when l.status = 'rejected' then ' (not counted)' else '' end || '</li>'), '') || '</ul>' else '' end
        || case when len(i.payments) > 0 then '<p>Payments:</p><ul>' || array_to_string(list_transform(i.payments, lambda p:
            '<li>' || coalesce(cast(p.received_on as varchar), '—') || ' ' || {{ html_escape('p.payer_type') }} || ' '
            || {{ html_escape('p.method') }} || ': ' || {{ html_escape('p.amount') }} || '</li>'), '') || '</ul>' else '' end
        || case when i.is_void then '' else
            '<p>Billed ' || cast(i.billed_amount as varchar) || ' ' || i.currency || ', paid ' || cast(i.paid_amount as varchar)
            || ', balance ' || coalesce(cast(i.balance as varchar), '—') || '</p>' end
        as content
from {{ ref('int_invoices_summarised') }} i
