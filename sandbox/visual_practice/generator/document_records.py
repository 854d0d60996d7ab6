"""A client's documents: the records (bytes come later, from `documents.content`) and where each
goes in the export's `documents/{Chart #}/` folder."""

from __future__ import annotations

import math
import random
import re
from typing import Any

from sandbox.visual_practice.generator.bundle import Bundle, Context, Record
from sandbox.visual_practice.generator.quirks import ClientQuirks
from sandbox.visual_practice.generator.timeline import epoch, iso

KB, MB = 1024, 1024 * 1024
DOC_QUIRKS = ("doc_large", "doc_zero_byte", "doc_duplicate_name", "doc_illegal_chars", "doc_wrong_content_type")
# category -> (content type, extension, names as uploaded)
KINDS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "treatment_plan": (("application/pdf", ".pdf", ("Treatment plan", "Plan de traitement", "Care plan")),),
    "signed_form": (
        ("application/pdf", ".pdf", ("Consent form", "Intake form - signed", "Formulaire de consentement")),
    ),
    "image": (("image/jpeg", ".jpg", ("IMG_{n}", "Photo knee", "Wound photo")),
              ("image/png", ".png", ("Screenshot {n}", "Posture photo"))),
    "imaging": (("application/dicom", ".dcm", ("MRI lumbar spine", "X-ray left wrist", "Ultrasound shoulder")),),
    "letter": (("application/pdf", ".pdf", ("Referral letter", "Letter to insurer")),
               ("text/plain", ".txt", ("Lettre au médecin", "Return to work letter"))),
    "other": (("text/plain", ".txt", ("Notes", "Exercise sheet")), ("application/pdf", ".pdf", ("Receipt",))),
}
CATEGORY_WEIGHTS = {"treatment_plan": 20, "signed_form": 30, "image": 15, "imaging": 8, "letter": 17, "other": 10}
ILLEGAL_NAMES = ('Consent 2025/03/04{ext}', 'Rx: follow-up?{ext}', 'scan <final>{ext}', 'report "v2"{ext}',
                 'X|Y results{ext}', 'notes*{ext}', 'C:\\Users\\reception\\Desktop\\scan{ext}')
WRONG_EXTENSION = {"application/pdf": ".jpg", "image/jpeg": ".pdf", "image/png": ".pdf",
                   "application/dicom": ".jpg", "text/plain": ".pdf"}
WINDOWS_ILLEGAL = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def add_documents(ctx: Context, rng: random.Random, quirks: ClientQuirks, bundle: Bundle, client: Record) -> None:
    count = rng.choices((0, 1, 2, 3), (55, 33, 9, 3))[0]
    if count == 0 and any(quirks.forced(q) for q in DOC_QUIRKS):
        count = 1
    done = [a for a in bundle.records["appointments"] if a["client_id"] == client["id"] and a["status"] == "completed"]
    documents = bundle.records["documents"]
    for _ in range(count):
        document = _document(ctx, rng, quirks, client, done)
        documents.append(document)
        if quirks.take("doc_duplicate_name") is not None:
            twin = _document(ctx, rng, None, client, done)
            twin["filename"] = document["filename"]
            documents.append(twin)
            quirks.note("doc_duplicate_name", "documents", twin["id"],
                        f"same name as {document['id']}: {twin['filename']}")
    taken: set[str] = set()
    for document in documents:
        name = _export_name(document["filename"], taken)
        bundle.export_paths[document["id"]] = f"documents/{client['chart_number']}/{name}"


def _document(ctx: Context, rng: random.Random, quirks: ClientQuirks | None, client: Record,
              done: list[Record]) -> Record:
    tl = ctx.timeline
    category = rng.choices(tuple(CATEGORY_WEIGHTS), tuple(CATEGORY_WEIGHTS.values()))[0]
    content_type, extension, stems = rng.choice(KINDS[category])
    if category == "imaging":
        size = rng.randrange(512 * KB, 4 * MB)
    else:  # log-uniform: most documents are small, a few reach 2 MB
        size = int(math.exp(rng.uniform(math.log(10 * KB), math.log(2 * MB))))
    filename = rng.choice(stems).format(n=rng.randrange(1000, 9999)) + extension
    document_id = ctx.seq.next_id()
    if quirks is not None:
        if quirks.take("doc_large") is not None:
            category, content_type, size = "imaging", "application/dicom", rng.randrange(50 * MB + 1, 64 * MB)
            filename = rng.choice(KINDS["imaging"][0][2]) + ".dcm"
            quirks.note("doc_large", "documents", document_id, f"{size} bytes")
        elif quirks.take("doc_zero_byte") is not None:
            size = 0
            quirks.note("doc_zero_byte", "documents", document_id, "0 bytes")
        if quirks.take("doc_illegal_chars") is not None:
            filename = rng.choice(ILLEGAL_NAMES).format(ext=extension if category != "imaging" else ".dcm")
            quirks.note("doc_illegal_chars", "documents", document_id, filename)
        if quirks.take("doc_wrong_content_type") is not None:
            stem = filename.rsplit(".", 1)[0]
            filename = stem + WRONG_EXTENSION[content_type]
            quirks.note("doc_wrong_content_type", "documents", document_id, f"{filename} is {content_type}")
    appointment = rng.choice(done) if done and rng.random() < 0.4 else None
    earliest = epoch(appointment["starts_at"]) if appointment else max(tl.history_start, epoch(client["created_at"]))
    uploaded = rng.randrange(min(earliest, tl.settled - 1), tl.settled)
    return {
        "id": document_id, "client_id": client["id"], "appointment_id": appointment["id"] if appointment else None,
        "filename": filename, "content_type": content_type, "size_bytes": size,
        "sha256": None,  # set when the bytes are produced (documents.content)
        "category": category, "uploaded_at": iso(uploaded),
        "updated_at": iso(uploaded if rng.random() < 0.8 else rng.randrange(uploaded, tl.settled)),
    }


def _export_name(filename: str, taken: set[str]) -> str:
    """The file's name in the export: illegal characters become `_`, a repeated name gets ` (2)`.

    Names are compared without case, as Windows (where the export is made) does.
    """
    name = WINDOWS_ILLEGAL.sub("_", filename)
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} ({n}){dot}{extension}"
    taken.add(candidate.lower())
    return candidate
