"""Fixed catalogues a practice is set up with: services, custom properties, custom object types,
referral sources, staff specialties and the configuration definitions (automations, templates,
reports)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    code: str
    name: str
    category: str
    minutes: int
    fee: str
    billable: bool = True
    ohip: bool = False  # an OHIP fee-schedule code: billed to OHIP when the client has a health number


# A practice offers the first 25-40 of these: the non-billable ones come early so every practice has some.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("A001", "Minor assessment", "Assessment", 15, "24.15", ohip=True),
    ServiceSpec("A003", "General assessment", "Assessment", 45, "91.45", ohip=True),
    ServiceSpec("A004", "General re-assessment", "Assessment", 30, "40.35", ohip=True),
    ServiceSpec("A007", "Intermediate assessment", "Assessment", 20, "37.95", ohip=True),
    ServiceSpec("A008", "Mini assessment", "Assessment", 10, "14.25", ohip=True),
    ServiceSpec("A888", "Partial assessment (emergency)", "Assessment", 15, "24.15", ohip=True),
    ServiceSpec("K005", "Primary mental health care", "Counselling", 30, "67.75", ohip=True),
    ServiceSpec("K013", "Counselling - individual care", "Counselling", 30, "67.75", ohip=True),
    ServiceSpec("K033", "Counselling - additional units", "Counselling", 30, "38.75", ohip=True),
    ServiceSpec("K030", "Diabetes management", "Chronic care", 20, "40.10", ohip=True),
    ServiceSpec("K131", "Periodic health visit - adult", "Assessment", 30, "55.30", ohip=True),
    ServiceSpec("G365", "Papanicolaou smear", "Procedure", 15, "7.25", ohip=True),
    ServiceSpec("G590", "Influenza immunization", "Procedure", 10, "5.60", ohip=True),
    ServiceSpec("G538", "Other immunization", "Procedure", 10, "5.60", ohip=True),
    ServiceSpec("E542", "Tray fee", "Procedure", 5, "18.75", ohip=True),
    ServiceSpec("Z101", "Abscess or hematoma - incision", "Procedure", 20, "26.40", ohip=True),
    ServiceSpec("PT-INIT", "Physiotherapy initial assessment", "Physiotherapy", 60, "120.00"),
    ServiceSpec("PT-FU", "Physiotherapy follow-up", "Physiotherapy", 45, "95.00"),
    ServiceSpec("PT-30", "Physiotherapy short session", "Physiotherapy", 30, "70.00"),
    ServiceSpec("PHONE-FU", "Phone follow-up", "Follow-up", 10, "0.00", billable=False),
    ServiceSpec("FREE-CONSULT", "Free consultation", "Assessment", 15, "0.00", billable=False),
    ServiceSpec("MT-30", "Massage therapy 30 min", "Massage", 30, "65.00"),
    ServiceSpec("MT-60", "Massage therapy 60 min", "Massage", 60, "110.00"),
    ServiceSpec("MT-90", "Massage therapy 90 min", "Massage", 90, "155.00"),
    ServiceSpec("CH-INIT", "Chiropractic initial visit", "Chiropractic", 45, "95.00"),
    ServiceSpec("CH-ADJ", "Chiropractic adjustment", "Chiropractic", 15, "55.00"),
    ServiceSpec("ACU-60", "Acupuncture", "Acupuncture", 60, "95.00"),
    ServiceSpec("PSY-50", "Psychotherapy session", "Counselling", 50, "180.00"),
    ServiceSpec("PSY-COUPLE", "Couples therapy", "Counselling", 75, "220.00"),
    ServiceSpec("NUT-60", "Nutrition consultation", "Nutrition", 60, "130.00"),
    ServiceSpec("ORTH-CAST", "Custom orthotics casting", "Orthotics", 30, "450.00"),
    ServiceSpec("FORM", "Form completion", "Administrative", 10, "35.00"),
    ServiceSpec("NS-FEE", "No-show fee", "Administrative", 0, "50.00"),
    ServiceSpec("LATE-CXL", "Late cancellation fee", "Administrative", 0, "40.00"),
    ServiceSpec("SICK-NOTE", "Sick note", "Administrative", 5, "20.00"),
    ServiceSpec("VIDEO-FU", "Video follow-up", "Follow-up", 20, "60.00"),
    ServiceSpec("REPORT", "Medical-legal report", "Administrative", 60, "300.00"),
    ServiceSpec("TRANSFER", "Chart transfer", "Administrative", 0, "25.00", billable=False),
    ServiceSpec("GROUP-EX", "Group exercise class", "Physiotherapy", 60, "25.00"),
    ServiceSpec("TAPING", "Kinesio taping", "Physiotherapy", 15, "20.00"),
)
ADJUSTMENT_CODE = "ADJ"  # invoice lines that adjust a bill down carry this code, not a service's

# The practice's custom properties on clients: label -> the JSON type its values have when clean.
CUSTOM_PROPERTIES: dict[str, str] = {
    "Preferred Language": "text",
    "Insurance Provider": "text",
    "Policy #": "text",
    "Visits Prepaid": "int",
    "Newsletter": "bool",
    "Consent Signed": "date",
    "Allergies": "text",
    "Pronouns": "text",
}
PROPERTY_VALUES: dict[str, tuple[object, ...]] = {
    "Preferred Language": ("English", "French", "Français", "Spanish", "Mandarin", "Punjabi"),
    "Insurance Provider": ("Sun Life", "Manulife", "Canada Life", "Green Shield", "Blue Cross", "Desjardins", "None"),
    "Allergies": ("None known", "Penicillin", "Latex", "Peanuts", "Sulfa drugs", "Shellfish"),
    "Pronouns": ("she/her", "he/him", "they/them"),
}


@dataclass(frozen=True)
class CustomObjectSpec:
    key: str
    label: str
    fields: tuple[tuple[str, str, str], ...]  # (key, label, type)
    relations: tuple[tuple[str, str], ...]  # (to, kind)


CUSTOM_OBJECTS: tuple[CustomObjectSpec, ...] = (
    CustomObjectSpec(
        "insurance_policies", "Insurance Policy",
        (("policy_number", "Policy Number", "text"), ("provider", "Provider", "text"),
         ("coverage_limit", "Coverage Limit", "money"), ("expires_on", "Expires On", "date"),
         ("family_plan", "Family Plan", "boolean")),
        (("clients", "many_to_many"), ("organizations", "many_to_one")),
    ),
    CustomObjectSpec(
        "equipment_loans", "Equipment Loan",
        (("item", "Item", "text"), ("serial", "Serial #", "text"), ("loaned_on", "Loaned On", "date"),
         ("deposit", "Deposit", "money"), ("returned", "Returned", "boolean")),
        (("clients", "many_to_many"),),
    ),
    CustomObjectSpec(
        "wellness_programs", "Wellness Program",
        (("program", "Program", "text"), ("sessions", "Sessions", "number"),
         ("sponsor_pays", "Sponsor Pays", "boolean")),
        (("clients", "many_to_many"), ("organizations", "many_to_many")),
    ),
)
LOANED_ITEMS = ("Crutches", "TENS unit", "Knee brace", "Walker", "Cold therapy unit", "Wrist splint")
PROGRAMS = ("Back to work", "Healthy hearts", "Mindful workplace", "Fall prevention", "Stop smoking")

REFERRAL_SOURCES: tuple[tuple[str, str], ...] = (
    ("Google search", "search"), ("Bing", "search"), ("Family physician", "partner"),
    ("Employer wellness program", "partner"), ("Insurance network", "partner"), ("Friend or family", "referral"),
    ("Existing client", "referral"), ("Facebook", "social"), ("Instagram", "social"), ("Walk-in", "walk_in"),
    ("Flyer", "other"), ("Radio ad", "other"),
)
UTM_CAMPAIGNS = ("spring-promo", "new-clinic", "back-pain", "massage-month", "brand")

SPECIALTIES = ("Family medicine", "Physiotherapy", "Chiropractic", "Massage therapy", "Psychotherapy",
               "Naturopathy", "Acupuncture", "Nutrition")
ORG_BRANDS = ("Northern", "Maple", "Laurentian", "Great Lakes", "Rideau", "Ottawa Valley", "Atlantic", "Summit",
              "Pinnacle", "Cedar", "Boréal", "Saint-Laurent", "Horizon", "Frontenac", "Algonquin", "Harbour",
              "Niagara", "Prairie", "Pioneer", "Lakeview")
ORG_TRADES = ("Construction", "Logistics", "Insurance", "Foods", "Software", "Manufacturing", "Transit", "Energy",
              "Health Services", "Retail", "Mining", "Consulting", "Printing", "Steel", "Dairy", "Telecom")
ORG_FORMS = ("Inc.", "Ltd.", "Corp.", "Group", "Ltée", "Co-op", "Holdings", "Partners")
ORG_UNITS = ("Head Office", "Ontario Division", "Quebec Division", "Toronto Plant", "Montréal Office",
             "Distribution Centre", "Warehouse", "Field Services")

AUTOMATION_KINDS = ("reminder", "follow_up", "recall", "birthday", "invoice_overdue")
TEMPLATE_KINDS = ("email", "sms", "letter", "intake_form", "soap_note")
REPORT_KINDS = ("revenue", "appointments", "no_shows", "ohip_reconciliation", "aging", "retention")
