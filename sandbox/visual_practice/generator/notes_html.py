"""SOAP note sections as Visual Practice stores them: HTML with p, br, b, i, ul, ol, li and table.

Three kinds of mess: unsafe markup (`<script>`, `onclick=`), markup pasted from Word (`<o:p>`,
`mso-` styles, smart quotes) and notes of about 200 KB. Sections are joined with LF, which the
export keeps inside the quoted field.
"""

from __future__ import annotations

import random

SUBJECTIVE = (
    "Reports lower back pain after lifting boxes at work.", "Neck stiffness for two weeks, worse in the morning.",
    "Douleur à l'épaule droite depuis une chute.", "Sleeping better; pain 3/10 (was 6/10).",
    "Anxious about returning to work next month.", "Knee gives way on stairs.",
    "Headaches three times a week, mostly afternoons.", "Se sent mieux, moins de raideur le matin.",
)
OBJECTIVE = (
    "ROM lumbar flexion 60°, extension 15°.", "Tenderness over C5-C6 paraspinals.",
    "Strength 4/5 right shoulder abduction.", "BP 128/82, HR 72.", "Gait antalgic, favours left leg.",
    "Palpation: trigger points upper trapezius.",
)
ASSESSMENT = (
    "Mechanical low back pain, improving.", "Cervicogenic headache.", "Rotator cuff tendinopathy.",
    "Patellofemoral pain syndrome.", "Adjustment disorder with anxiety.", "Entorse lombaire, en amélioration.",
)
PLAN = (
    ("Continue home exercises", "Ice 15 min twice daily", "Reassess in 2 weeks"),
    ("Progress strengthening", "Ergonomic assessment", "Follow-up in 1 week"),
    ("Exercices à domicile", "Chaleur le soir", "Revoir dans 10 jours"),
)
UNSAFE = (
    '<script>alert("chart")</script>',
    '<p onclick="window.location=\'http://example.invalid\'">Click to view results</p>',
    '<img src="x" onerror="fetch(\'/steal\')">',
    '<a href="javascript:void(0)" onmouseover="alert(1)">see attached</a>',
)
HUGE_NOTE_BYTES = 200 * 1024


def soap(rng: random.Random, flavour: str = "clean") -> dict[str, str]:
    """The four sections; `flavour` is clean, unsafe, word or huge."""
    plan_items = rng.choice(PLAN)
    tag = rng.choice(("ol", "ul"))
    note = {
        "subjective": f"<p>{rng.choice(SUBJECTIVE)}</p>",
        "objective": f"<p><b>Exam:</b> {rng.choice(OBJECTIVE)}<br>\n<i>{rng.choice(OBJECTIVE)}</i></p>",
        "assessment": f"<p>{rng.choice(ASSESSMENT)}</p>",
        "plan": f"<{tag}>\n" + "\n".join(f"<li>{item}</li>" for item in plan_items) + f"\n</{tag}>",
    }
    if rng.random() < 0.2:
        note["objective"] += "\n" + _measurements(rng, 3)
    if flavour == "unsafe":
        note["subjective"] += "\n" + rng.choice(UNSAFE)
    elif flavour == "word":
        note["assessment"] = _word(note["assessment"])
        note["subjective"] = _word(note["subjective"])
    elif flavour == "huge":
        rows = []
        size = 0
        while size < HUGE_NOTE_BYTES:
            row = _measurements(rng, 1)
            rows.append(row)
            size += len(row)
        note["objective"] += "\n" + "\n".join(rows)
    return note


def _measurements(rng: random.Random, rows: int) -> str:
    body = "\n".join(
        f"<tr><td>Visit {rng.randint(1, 40)}</td><td>{rng.randint(0, 10)}/10</td><td>{rng.randint(20, 160)}°</td></tr>"
        for _ in range(rows)
    )
    return f"<table>\n<tr><th>Visit</th><th>Pain</th><th>ROM</th></tr>\n{body}\n</table>"


def _word(html: str) -> str:
    """The section as it looks after a paste from Microsoft Word (smart quotes are cp1252 0x91-0x94)."""
    text = html.removeprefix("<p>").removesuffix("</p>")
    return (
        "<p class=MsoNormal style='margin-bottom:0cm;mso-line-height-rule:exactly;"
        "font-family:\"Calibri\",sans-serif;mso-fareast-language:EN-CA'>"
        f"<span lang=EN-CA style='mso-ansi-language:EN-CA'>\u201cClient\u2019s words:\u201d {text}"
        "<o:p></o:p></span></p>\n<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
    )
