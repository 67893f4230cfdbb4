"""The embedded mail catcher: an SMTP server on 127.0.0.1 that keeps every message it receives.

On a laptop nothing should reach a real supplier, yet the compliance team must be able to read exactly
what suppliers, commodity managers and the VP were sent. `outreach up` runs this server; each
message becomes one ``.eml`` file in ``settings.mail_dir`` and the web app's mail page reads them
through :func:`list_messages` and :func:`read_message`.

A message is written (temporary name, then an atomic rename) before the server answers 250, so a
message the sender saw accepted is on disk; if the write fails the sender gets a 451 and retries.
File names sort by arrival: ``<nanoseconds since epoch, 20 digits>-<16 hex>.eml``.

Run it alone with ``python -m outreach.mailcatcher`` (reads the same settings as everything else).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

log = logging.getLogger("outreach.mailcatcher")

HOST = "127.0.0.1"
SERVER_NAME = "outreach-mail-catcher"
# Headers the catcher adds in front of each message so the SMTP envelope (Bcc recipients included)
# stays visible after the fact.
ENVELOPE_FROM_HEADER = "X-Outreach-Envelope-From"
ENVELOPE_TO_HEADER = "X-Outreach-Envelope-To"

_MAIL_ID = re.compile(r"^[0-9]{20}-[0-9a-f]{16}$")
_HTML_PART = re.compile(rb"^content-type:[ \t]*text/html", re.IGNORECASE | re.MULTILINE)
_SUFFIX = ".eml"


class MailNotFound(LookupError):
    """No caught message has this id (or the id is not one the catcher could have written)."""


# Writing ------------------------------------------------------------------------------------


def new_mail_id(received_ns: int | None = None) -> str:
    ns = time.time_ns() if received_ns is None else received_ns
    return f"{ns:020d}-{secrets.token_hex(8)}"


def store_message(mail_dir: Path, raw: bytes, envelope_from: str | None, envelope_to: list[str]) -> str:
    """Write one message atomically and return its id."""
    mail_dir.mkdir(parents=True, exist_ok=True)
    mail_id = new_mail_id()
    envelope = (
        f"{ENVELOPE_FROM_HEADER}: <{envelope_from or ''}>\r\n"
        f"{ENVELOPE_TO_HEADER}: {', '.join(envelope_to)}\r\n"
    ).encode("utf-8")
    tmp = mail_dir / f".{mail_id}.tmp"
    try:
        with open(tmp, "xb") as fh:
            fh.write(envelope)
            fh.write(raw)
        # No fsync: this is a development catcher; the rename makes a crash leave no half message.
        os.replace(tmp, mail_dir / f"{mail_id}{_SUFFIX}")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return mail_id


def is_bounce_address(address: str, bounce_address: str) -> bool:
    """The bounce mailbox's address, bare or with a message's return-path token (bounces+<token>@...)."""
    from models.facts.bounces import token_in

    return address.strip().lower() == bounce_address.strip().lower() or token_in(address, bounce_address) is not None


def keep_bounce(bounce_dir: Path, raw: bytes, envelope_from: str | None, envelope_to: list[str]) -> None:
    """What was sent to the bounce address also lands in the bounce mailbox (a Maildir), where the bounce
    reader finds it as it would in an IMAP folder (outreach/bounces/mailbox.py)."""
    import mailbox

    envelope = (f"{ENVELOPE_FROM_HEADER}: <{envelope_from or ''}>\r\n"
                f"{ENVELOPE_TO_HEADER}: {', '.join(envelope_to)}\r\n").encode("utf-8")
    mailbox.Maildir(str(bounce_dir), create=True).add(envelope + raw)


class _CatchingHandler:
    def __init__(self, mail_dir: Path, bounce_address: str | None = None, bounce_dir: Path | None = None) -> None:
        self.mail_dir = mail_dir
        self.bounce_address, self.bounce_dir = bounce_address, bounce_dir
        self.caught = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            mail_id = await asyncio.to_thread(
                store_message, self.mail_dir, raw, envelope.mail_from, list(envelope.rcpt_tos))
        except OSError as exc:
            log.error("could not store a message in %s: %s", self.mail_dir, exc)
            return "451 4.3.0 Message not stored (local error); try again later"
        if self.bounce_dir is not None and self.bounce_address and any(
                is_bounce_address(a, self.bounce_address) for a in envelope.rcpt_tos):
            try:
                await asyncio.to_thread(keep_bounce, self.bounce_dir, raw, envelope.mail_from, list(envelope.rcpt_tos))
            except OSError as exc:
                log.error("could not keep a bounce in %s: %s", self.bounce_dir, exc)
                return "451 4.3.0 Message not stored (local error); try again later"
        self.caught += 1
        log.info("caught %s from %s to %s", mail_id, envelope.mail_from, ", ".join(envelope.rcpt_tos))
        return f"250 2.0.0 OK caught as {mail_id}"


def _accept_any_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    # Any user/password is fine: the catcher stands in for a relay that may require AUTH.
    return AuthResult(success=True)


async def start_mail_catcher(mail_dir: Path, host: str = HOST, port: int = 1025, *, bounce_address: str | None = None,
                             bounce_dir: Path | None = None) -> asyncio.Server:
    """Start the catcher on the running loop; close the returned server to stop it. With a bounce address
    and folder, what is sent to the bounce address is also kept there, for the bounce reader."""
    mail_dir.mkdir(parents=True, exist_ok=True)
    handler = _CatchingHandler(mail_dir, bounce_address, bounce_dir)
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(
            handler,
            hostname=SERVER_NAME,  # an explicit name: socket.getfqdn() can stall on a closed network
            enable_SMTPUTF8=True,
            decode_data=False,
            auth_require_tls=False,
            authenticator=_accept_any_login,
        )

    return await loop.create_server(factory, host=host, port=port)


# Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaughtMail:
    """One line of the mail list."""

    id: str
    received_at: datetime
    sender: str
    to: str
    subject: str
    has_html: bool
    envelope_to: tuple[str, ...] = ()
    size: int = 0


@dataclass(frozen=True)
class CaughtMessage:
    """One message opened for reading."""

    id: str
    received_at: datetime
    subject: str
    sender: str
    to: str
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    attachments: list[str] = field(default_factory=list)
    envelope_to: tuple[str, ...] = ()


def received_at(mail_id: str) -> datetime:
    ns = int(mail_id.split("-", 1)[0])
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)


def message_path(mail_dir: Path, mail_id: str) -> Path:
    """The .eml file of a message; the id must have the catcher's exact shape (no paths)."""
    if not isinstance(mail_id, str) or not _MAIL_ID.fullmatch(mail_id):
        raise MailNotFound(mail_id)
    path = Path(mail_dir) / f"{mail_id}{_SUFFIX}"
    if not path.is_file():
        raise MailNotFound(mail_id)
    return path


def _parse(path: Path) -> EmailMessage:
    with open(path, "rb") as fh:
        return BytesParser(policy=policy.default).parse(fh)  # type: ignore[return-value]


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:  # a malformed header must not hide the message: show it undecoded
        return next((v for k, v in msg.raw_items() if k.lower() == name.lower()), "")


def _headers(msg: EmailMessage) -> list[tuple[str, str]]:
    result = []
    for name, raw in msg.raw_items():
        try:
            result.append((name, str(msg.policy.header_fetch_parse(name, raw))))
        except Exception:
            result.append((name, raw))
    return result


def _envelope_to(msg: EmailMessage) -> tuple[str, ...]:
    value = _header(msg, ENVELOPE_TO_HEADER)
    return tuple(a.strip() for a in value.split(",") if a.strip())


def _body(msg: EmailMessage, subtype: str) -> str | None:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        return part.get_content()
    except (LookupError, ValueError):  # unknown charset or broken encoding: show what there is
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def list_messages(mail_dir: Path, *, limit: int | None = None) -> list[CaughtMail]:
    """The caught messages, newest first (at most ``limit``)."""
    mail_dir = Path(mail_dir)
    if not mail_dir.is_dir():
        return []
    ids = sorted(
        (p.name[: -len(_SUFFIX)] for p in mail_dir.iterdir() if p.name.endswith(_SUFFIX)),
        reverse=True,
    )
    ids = [i for i in ids if _MAIL_ID.fullmatch(i)]
    if limit is not None:
        ids = ids[:limit]
    result = []
    for mail_id in ids:
        try:
            raw = (mail_dir / f"{mail_id}{_SUFFIX}").read_bytes()
        except OSError:  # removed meanwhile
            continue
        # Headers only, decoded by hand: a full parse of every message made a 500-line list take ~1 s.
        head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        result.append(CaughtMail(
            id=mail_id,
            received_at=received_at(mail_id),
            sender=_decoded(head, "From"),
            to=_decoded(head, "To"),
            subject=_decoded(head, "Subject"),
            has_html=_HTML_PART.search(raw) is not None,
            envelope_to=tuple(a.strip() for a in _decoded(head, ENVELOPE_TO_HEADER).split(",") if a.strip()),
            size=len(raw),
        ))
    return result


def _decoded(head: Message, name: str) -> str:
    value = head.get(name)
    if value is None:
        return ""
    try:
        return " ".join(str(make_header(decode_header(str(value)))).split())
    except (ValueError, LookupError, UnicodeError):  # a broken encoded word: show it as it came
        return " ".join(str(value).split())


def read_message(mail_dir: Path, mail_id: str) -> CaughtMessage:
    """One caught message, parsed. Raises :class:`MailNotFound` for an unknown or malformed id."""
    msg = _parse(message_path(mail_dir, mail_id))
    attachments = [part.get_filename() or "(unnamed)" for part in msg.iter_attachments()]
    return CaughtMessage(
        id=mail_id,
        received_at=received_at(mail_id),
        subject=_header(msg, "Subject"),
        sender=_header(msg, "From"),
        to=_header(msg, "To"),
        headers=_headers(msg),
        text=_body(msg, "plain"),
        html=_body(msg, "html"),
        attachments=attachments,
        envelope_to=_envelope_to(msg),
    )


# Running alone ------------------------------------------------------------------------------


async def serve(mail_dir: Path, host: str, port: int, bounce_address: str | None = None,
                bounce_dir: Path | None = None) -> None:
    server = await start_mail_catcher(mail_dir, host, port, bounce_address=bounce_address, bounce_dir=bounce_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"mail catcher listening on {host}:{port}, keeping every message in {mail_dir}", flush=True)
    async with server:
        await stop.wait()
    print("mail catcher stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    from outreach.settings import ConfigurationError, load_settings

    parser = argparse.ArgumentParser(
        prog="python -m outreach.mailcatcher",
        description="SMTP server on 127.0.0.1 that keeps every message as an .eml file.")
    parser.add_argument("--port", type=int, help="default: OUTREACH_MAIL_CATCHER_PORT")
    parser.add_argument("--mail-dir", type=Path, help="default: OUTREACH_DATA_DIR/mail")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection at INFO
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    mail_dir = (args.mail_dir or settings.mail_dir).resolve()
    port = args.port or settings.mail_catcher_port
    try:
        # With no IMAP bounce mailbox configured, the reader reads the folder the catcher keeps bounces in.
        bounce_dir = None if settings.bounce_imap_host else settings.bounce_maildir_path.resolve()
        asyncio.run(serve(mail_dir, HOST, port, settings.effective_bounce_address, bounce_dir))
    except OSError as exc:
        print(f"mail catcher cannot listen on {HOST}:{port}: {exc.strerror or exc} "
              f"(change OUTREACH_MAIL_CATCHER_PORT)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
