"""Rendering the product's emails from Jinja2 templates (subject, plain text and HTML).

Each message is a folder under templates/email/ holding ``subject.txt``, ``body.txt`` and ``body.html``.
Building the MIME message uses ``MIMEText`` (≈0.03 ms) rather than ``EmailMessage`` (≈0.75 ms): at
campaign scale the difference is a core's worth of work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_eval_context, select_autoescape
from markupsafe import Markup, escape

from models.facts.correction import correction_request
from models.facts.figures import percent_cell, share_words
from outreach import i18n
from outreach.settings import PROJECT_ROOT
from outreach.wording import humanise, outcome_words, verdict_words, words

TEMPLATES_DIR = PROJECT_ROOT / "templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


@lru_cache(maxsize=4)
def template_environment(root: Path = TEMPLATES_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(root)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Codes are never shown to a person: the same words as every other face (outreach.wording).
    env.filters["words"] = words
    env.filters["human"] = humanise
    env.filters["outcome"] = outcome_words
    env.filters["share_words"] = share_words
    env.filters["percent_cell"] = percent_cell
    env.filters["verdict_words"] = verdict_words
    env.globals["em"] = _emphasis
    i18n.install(env)
    return env


@pass_eval_context
def _emphasis(eval_ctx, value: Any) -> Any:
    """A value the sentence stresses: bold in HTML, as it is in plain text (one message ID for both)."""
    return Markup("<strong>%s</strong>") % escape(value) if eval_ctx.autoescape else value


def email_templates(root: Path = TEMPLATES_DIR) -> list[str]:
    return sorted(p.name for p in (root / "email").iterdir() if (p / "subject.txt").exists())


# The emails that state a correction request (models.facts.correction).
CORRECTION_TEMPLATES = ("correction_request", "correction_reminder")


def with_facts(template: str, context: dict[str, Any]) -> dict[str, Any]:
    """A correction email's context as surveys before release "one-truth" gave it (the raw findings and the
    window's end in words): the same pure function states it, so a message re-sent from then reads as today's."""
    if template not in CORRECTION_TEMPLATES or "correction" in context:
        return context
    req = correction_request(context.get("findings") or [], deadline=None,
                             round=context.get("round", context.get("correction_round", 0)),
                             max_rounds=context.get("max_rounds", 0))
    facts = req.context()
    facts["deadline"] = context.get("window_ends", "")
    return dict(context, correction=facts)


# What a supplier reads (in its language, with the English text below); every other email is internal and
# reads in the company's language. decision_notice is the supplier's when its audience is the supplier.
SUPPLIER_TEMPLATES = frozenset({
    "request", "reminder", "overdue_reminder", "correction_request", "correction_reminder", "accepted", "withdrawn",
    "product_level_request", "weak_program_guidance", "cap_request", "cap_reminder", "cap_overdue",
})
ENGLISH_COPY = "English"
_BLANK_LINES = re.compile(r"\n{3,}")  # the heading above the English copy, the same in every language


def is_supplier_email(template: str, context: dict[str, Any]) -> bool:
    return template in SUPPLIER_TEMPLATES or (template == "decision_notice" and context.get("audience") == "supplier")


def email_locale(template: str, context: dict[str, Any], company_language: str | None = None) -> str:
    """The language an email is written in: the supplier's (outreach.i18n.supplier_locale) or the company's."""
    if is_supplier_email(template, context):
        return i18n.supplier_locale(chosen=context.get("portal_language"), contact=context.get("language"),
                                    last_cmrt=context.get("last_cmrt_language"))
    return i18n.company_locale(company_language)


def localised(context: dict[str, Any], code: str) -> dict[str, Any]:
    """The context as the locale states it: dates the workflow wrote in English words, the count of errors,
    where a finding is and what it says (outreach.i18n.finding_text)."""
    ctx = {k: i18n.localise_day_text(v, code) for k, v in context.items()}
    ctx["html_lang"] = code.replace("_", "-")
    corr = ctx.get("correction")
    if isinstance(corr, dict):
        corr = dict(corr, deadline=i18n.localise_day_text(corr.get("deadline"), code))
        n = int(corr.get("error_count") or 0)
        corr["headline"] = i18n.ngettext("%(num)d error to correct", "%(num)d errors to correct", n) % {"num": n}
        for key in ("to_correct", "warnings", "notes"):
            corr[key] = [_localised_line(f) for f in corr.get(key) or []]
        ctx["correction"] = corr
    return ctx


def _localised_line(f: Any) -> Any:
    if not isinstance(f, dict):
        return f
    where = f.get("where") or ""
    if where == "whole file":
        where = i18n.gettext("whole file")
    return dict(f, where=where, message=i18n.finding_text(f.get("code"), f.get("params"), f.get("message") or "",
                                                               cell=f.get("cell")))


def _render(env: Environment, template: str, context: dict[str, Any], code: str) -> RenderedEmail:
    with i18n.using(code):
        ctx = localised(context, code)
        base = f"email/{template}"
        subject = env.get_template(f"{base}/subject.txt").render(**ctx)
        text = env.get_template(f"{base}/body.txt").render(**ctx)
        html = None
        if (TEMPLATES_DIR / "email" / template / "body.html").exists():
            html = env.get_template(f"{base}/body.html").render(**ctx)
    # A subject is one line whatever the template produced; a text has at most one blank line in a row.
    return RenderedEmail(subject=" ".join(subject.split()), text=_BLANK_LINES.sub("\n\n", text), html=html)


def render_email(template: str, context: dict[str, Any], *, company_language: str | None = None) -> RenderedEmail:
    """The email in its reader's language; a supplier's carries the English text below its own, so a colleague
    who does not read that language can read it too."""
    env = template_environment()
    context = with_facts(template, context)
    code = email_locale(template, context, company_language)
    mail = _render(env, template, context, code)
    if code == i18n.ENGLISH or not is_supplier_email(template, context):
        return mail
    english = _render(env, template, context, i18n.ENGLISH)
    rule = "—" * 24
    text = f"{mail.text.rstrip()}\n\n{rule}\n{ENGLISH_COPY}\n{rule}\n\n{english.text}"
    html = mail.html
    if html and english.html:
        html = _append_html(html, english.html)
    return RenderedEmail(subject=mail.subject, text=text, html=html)


def _append_html(html: str, english: str) -> str:
    """The English email's body below the localised one, marked as English for screen readers."""
    start = english.find(">", english.find("<body")) + 1
    end = english.rfind("</body>")
    copy = english[start:end] if start > 0 and end > start else english
    block = (f'<hr style="margin:32px 0 16px;border:0;border-top:2px solid #dde3e8"><div lang="en">'
             f'<p style="font-size:12px;color:#5b6770;text-transform:uppercase">{ENGLISH_COPY}</p>{copy}</div>')
    at = html.rfind("</body>")
    return html[:at] + block + html[at:] if at >= 0 else html + block


def build_mime(*, sender: str, to: str, cc: list[str], subject: str, text: str, html: str | None,
               message_id: str, headers: dict[str, str] | None = None) -> MIMEMultipart | MIMEText:
    if html:
        msg: MIMEMultipart | MIMEText = MIMEMultipart("alternative")
        msg.attach(MIMEText(text, "plain", "utf-8"))
        msg.attach(MIMEText(html, "html", "utf-8"))
    else:
        msg = MIMEText(text, "plain", "utf-8")
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    return msg
