-- Custom-property values the confirmed map's type cannot read ("ten" for a number, "maybe" for a
-- yes/no, "31/02/2024" for a date): the Person is sent with that field empty, and each value is
-- reported in migration__skipped (kind 'reported') with the record, the field and the value, so
-- nothing is lost silently. Only clients carry custom properties (CONTRACT.md, /clients).
{{ custom_property_failures('person', ref('int_persons_unioned')) }}
