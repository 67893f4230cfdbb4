"""Reading one message from the bounce mailbox: is it a bounce, for whom, hard or soft, and which of our
messages it is about. Bytes in, a :class:`BounceReading` out; no database, no network.

Which recipients failed, and whether permanently, is flufl.bounce's (the detectors GNU Mailman uses on
real-world bounces: RFC 3464 DSNs, Exchange, Exim, qmail, Postfix and more). What this module adds is
what flufl.bounce does not look for: the VERP token in the address the bounce was sent to, the original
Message-ID in the returned headers, the DSN's status and diagnostic for the compliance team, and
auto-replies, which are never bounces.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import json
import logging
import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Optional

from flufl.bounce import all_failures

from models.facts.bounces import HARD, NOT_A_BOUNCE, SOFT, bounce_kind, token_in

log = logging.getLogger("outreach.bounces")

# The headers where a relay or a mail store leaves the address a message was delivered to.
_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "X-Outreach-Envelope-To",
                     "Original-Recipient", "To", "Return-Path")
_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_ANGLE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_SMTP_REPLY = re.compile(r"\b[45]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b")
_MAX_TEXT = 64 * 1024  # enough of a body to find the returned headers of a non-standard bounce
_MAX_DIAGNOSTIC = 500


@dataclass(frozen=True)
class BounceReading:
    kind: str  # hard, soft or not_a_bounce (models.facts.bounces)
    recipients: list[str] = field(default_factory=list)
    diagnostic: str = ""
    token: Optional[str] = None  # from the return path bounces+<token>@...
    message_ids: list[str] = field(default_factory=list)  # the bounced message's, best first
    from_addr: str = ""
    subject: str = ""


def read_bounce(raw: bytes, bounce_address: str) -> BounceReading:
    """What one message from the bounce mailbox says. Never raises: a message no detector understands
    (or one that makes a detector fail) is read as not a bounce, and kept by the caller."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as exc:  # noqa: BLE001 - the email package rarely raises, but a bad message must not stop the reader
        log.warning("unreadable message in the bounce mailbox: %s", exc)
        return BounceReading(kind=NOT_A_BOUNCE, diagnostic=f"unreadable: {exc}")
    subject, from_addr = _header(msg, "Subject"), _header(msg, "From")
    token = _token(msg, bounce_address)
    ids = _original_message_ids(msg)
    if _is_auto_reply(msg):
        return BounceReading(kind=NOT_A_BOUNCE, token=token, message_ids=ids, from_addr=from_addr,
                             subject=subject, diagnostic="an automatic reply (out of office), not a bounce")
    ses = _ses_notification(msg)
    if ses is not None:
        return BounceReading(kind=ses.kind, recipients=ses.recipients, diagnostic=ses.diagnostic,
                             token=token or token_in(ses.source, bounce_address), message_ids=ses.message_ids + ids,
                             from_addr=from_addr, subject=subject)
    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:  # noqa: BLE001 - a detector choking on a malformed message
        log.warning("bounce detectors failed on %r: %s", subject, exc)
        temporary, permanent = frozenset(), frozenset()
    temp = sorted(_text(a) for a in temporary)
    perm = sorted(_text(a) for a in permanent)
    statuses, diagnostic = _dsn_details(msg)
    kind = bounce_kind(temp, perm, statuses)
    return BounceReading(kind=kind, recipients=perm or temp, diagnostic=diagnostic or _first_words(msg),
                         token=token, message_ids=ids, from_addr=from_addr, subject=subject)


@dataclass(frozen=True)
class _SesBounce:
    kind: str
    recipients: list[str]
    diagnostic: str
    message_ids: list[str]
    source: str


def _ses_notification(msg: Message) -> Optional[_SesBounce]:
    """Amazon SES's bounce notification (JSON, delivered by email through SNS, with or without SNS's
    envelope): bounceType Permanent is hard, Transient soft (AWS's own words). flufl.bounce reads DSNs, not
    this; json reads it."""
    for part in msg.walk():
        if part.get_content_type() not in ("text/plain", "application/json"):
            continue
        text = _part_text(part).strip()
        if not text.startswith("{"):
            continue
        try:
            doc = json.loads(text)
            if isinstance(doc, dict) and isinstance(doc.get("Message"), str):  # SNS's envelope
                doc = json.loads(doc["Message"])
        except ValueError:
            continue
        if not isinstance(doc, dict) or doc.get("notificationType", doc.get("eventType")) != "Bounce":
            continue
        bounce, mail = doc.get("bounce") or {}, doc.get("mail") or {}
        people = [r for r in bounce.get("bouncedRecipients") or [] if isinstance(r, dict)]
        kind = HARD if bounce.get("bounceType") == "Permanent" else SOFT
        diagnostic = next((str(r.get("diagnosticCode")) for r in people if r.get("diagnosticCode")), "")
        diagnostic = re.sub(r"^smtp;\s*", "", diagnostic, flags=re.IGNORECASE) or \
            f"{bounce.get('bounceType', '')} {bounce.get('bounceSubType', '')}".strip()
        headers = mail.get("commonHeaders") or {}
        ids = [str(headers["messageId"])] if headers.get("messageId") else []
        ids += [str(h.get("value")) for h in mail.get("headers") or []
                if isinstance(h, dict) and str(h.get("name", "")).lower() == "message-id"]
        return _SesBounce(kind, [str(r.get("emailAddress")) for r in people if r.get("emailAddress")],
                          diagnostic[:_MAX_DIAGNOSTIC], [i for i in ids if _ANGLE_ID.fullmatch(i)],
                          str(mail.get("source") or ""))
    return None


def _text(value: bytes | str) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _header(msg: Message, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))[:500]
    except Exception:  # noqa: BLE001 - a badly encoded header reads as it is
        return str(value)[:500]


def _token(msg: Message, bounce_address: str) -> Optional[str]:
    for name in _ENVELOPE_HEADERS:
        for value in msg.get_all(name) or []:
            token = token_in(str(value), bounce_address)
            if token:
                return token.lower()
    return None


def _is_auto_reply(msg: Message) -> bool:
    """An out-of-office or other automatic reply (RFC 3834's Auto-Submitted: auto-replied, or the headers
    Exchange and others set). Relays mark their bounces auto-replied too (Postfix, Gmail, Exim): a delivery
    report, a failed-recipients header or a mailer daemon's address makes it a bounce to read."""
    auto = (msg.get("Auto-Submitted") or "").lower().startswith("auto-replied") or bool(
        msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Auto-Response-Suppress"))
    if not auto or msg.get_content_type() == "multipart/report" or msg.get("X-Failed-Recipients"):
        return False
    sender = (msg.get("From") or "").lower()
    return not any(name in sender for name in ("mailer-daemon", "postmaster", "mail delivery"))


def _original_message_ids(msg: Message) -> list[str]:
    """The bounced message's Message-ID: in the returned headers (text/rfc822-headers, message/rfc822),
    then the bounce's In-Reply-To and References, then any Message-ID line in the text (qmail and other
    relays quote the original inline)."""
    found: list[str] = []

    def add(value: Optional[str]) -> None:
        for mid in _ANGLE_ID.findall(value or ""):
            if mid not in found:
                found.append(mid)

    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822" and part.is_multipart():
            for inner in part.get_payload():
                if isinstance(inner, Message):
                    add(inner.get("Message-ID"))
        elif ctype in ("text/rfc822-headers", "text/plain", "message/rfc822"):
            for mid in _MESSAGE_ID.findall(_part_text(part)):
                add(mid)
    add(msg.get("In-Reply-To"))
    add(msg.get("References"))
    own = msg.get("Message-ID")
    return [m for m in found if m != (own or "").strip()]


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = part.get_payload()
        if isinstance(payload, list):
            return "\n".join(str(p) for p in payload)[:_MAX_TEXT]
        return str(payload or "")[:_MAX_TEXT]
    return payload[:_MAX_TEXT].decode(part.get_content_charset() or "utf-8", "replace")


def _dsn_details(msg: Message) -> tuple[list[str], str]:
    """The DSN's Status codes and its first Diagnostic-Code (RFC 3464), for the compliance team."""
    statuses: list[str] = []
    diagnostic = ""
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status" or not part.is_multipart():
            continue
        for block in part.get_payload():
            if not isinstance(block, Message):
                continue
            action = (block.get("Action") or "").lower()
            if block.get("Status") and action.startswith(("fail", "delayed", "error")):
                statuses.extend(_STATUS.findall(block.get("Status", "")))
            if not diagnostic and block.get("Diagnostic-Code"):
                diagnostic = " ".join(str(block.get("Diagnostic-Code")).split())
                diagnostic = re.sub(r"^smtp;\s*", "", diagnostic, flags=re.IGNORECASE)
    if statuses and not diagnostic:
        diagnostic = f"status {statuses[0]}"
    return statuses, diagnostic[:_MAX_DIAGNOSTIC]


def _first_words(msg: Message) -> str:
    """A non-standard bounce's own explanation: the remote server's reply (the first line of its first text
    part with an SMTP code), else its first lines that say something."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            lines = [ln.strip() for ln in _part_text(part).splitlines() if ln.strip()]
            reply = next((ln for ln in lines if _SMTP_REPLY.search(ln)), None)
            return (reply or " ".join(lines[:4]))[:_MAX_DIAGNOSTIC]
    return ""
