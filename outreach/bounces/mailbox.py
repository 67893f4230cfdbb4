"""The bounce mailbox, as one interface over two stores: an IMAP folder (Microsoft 365, Google Workspace,
SES into a mailbox, any IMAP server) or a Maildir folder (what the embedded mail catcher keeps of the
mail sent to the bounce address).

``unread()`` lists the messages not marked done yet; ``done(key)`` marks one so it is not listed again
(IMAP: flagged seen, or moved to the done folder; Maildir: moved to cur/ with the seen flag). Marking is
not what makes a re-read harmless: every message is recorded once under its digest (outreach/bounces/record.py).
"""

from __future__ import annotations

import imaplib
import mailbox
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from outreach.settings import Settings

# One poll reads at most this many messages: a flooded mailbox is worked through over several polls.
BATCH = 200
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class BounceMailboxError(RuntimeError):
    """The mailbox cannot be reached or refused us; the message says which and why."""


@dataclass(frozen=True)
class MailboxMessage:
    key: str
    raw: bytes


class BounceMailbox(Protocol):
    def unread(self, limit: int = BATCH) -> Iterator[MailboxMessage]: ...
    def done(self, key: str) -> None: ...
    def close(self) -> None: ...


class MaildirMailbox:
    def __init__(self, path: Path):
        self.path = path
        self.box = mailbox.Maildir(str(path), create=True)

    def unread(self, limit: int = BATCH) -> Iterator[MailboxMessage]:
        n = 0
        for key in sorted(self.box.iterkeys()):
            if "S" in self.box.get_message(key).get_flags():
                continue
            if n >= limit:
                return
            n += 1
            with self.box.get_file(key) as fh:
                raw = fh.read(MAX_MESSAGE_BYTES)
            yield MailboxMessage(key, raw)

    def done(self, key: str) -> None:
        msg = self.box[key]
        msg.set_subdir("cur")
        msg.add_flag("S")
        self.box[key] = msg

    def close(self) -> None:
        self.box.close()


class ImapMailbox:
    def __init__(self, settings: Settings):
        s = settings
        self.folder, self.done_folder = s.bounce_imap_folder, s.bounce_imap_done_folder
        where = f"{s.bounce_imap_host}:{s.bounce_imap_port}"
        try:
            if s.bounce_imap_security == "tls":
                self.imap = imaplib.IMAP4_SSL(s.bounce_imap_host, s.bounce_imap_port, timeout=60,
                                              ssl_context=ssl.create_default_context())
            else:
                self.imap = imaplib.IMAP4(s.bounce_imap_host, s.bounce_imap_port, timeout=60)
                if s.bounce_imap_security == "starttls":
                    self.imap.starttls(ssl.create_default_context())
        except (OSError, imaplib.IMAP4.error) as exc:
            raise BounceMailboxError(f"cannot reach the bounce mailbox at {where}: {exc}") from None
        try:
            if s.bounce_imap_oauth_token_url:
                token = oauth_token(s)
                self.imap.authenticate("XOAUTH2", lambda _: f"user={s.bounce_imap_user}\x01auth=Bearer {token}\x01\x01".encode())
            else:
                self.imap.login(s.bounce_imap_user, s.bounce_imap_password)
            typ, data = self.imap.select(_quote(self.folder))
            if typ != "OK":
                raise BounceMailboxError(f"the bounce mailbox has no folder {self.folder!r}: {_words(data)}")
        except imaplib.IMAP4.error as exc:
            self.close()
            raise BounceMailboxError(f"the bounce mailbox at {where} refused user {s.bounce_imap_user!r}: {exc}") from None
        except BounceMailboxError:
            self.close()
            raise
        except (OSError, imaplib.IMAP4.abort) as exc:
            self.close()
            raise BounceMailboxError(f"the bounce mailbox at {where} closed the connection: {exc}") from None
        if self.done_folder:
            self.imap.create(_quote(self.done_folder))  # NO when it exists: fine

    def unread(self, limit: int = BATCH) -> Iterator[MailboxMessage]:
        typ, data = self.imap.uid("SEARCH", None, "UNSEEN")
        if typ != "OK":
            raise BounceMailboxError(f"searching the bounce mailbox failed: {_words(data)}")
        uids = (data[0] or b"").split()[:limit]
        for uid in uids:
            typ, parts = self.imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts or [] if isinstance(p, tuple) and len(p) > 1), None)
            if typ == "OK" and raw is not None:
                yield MailboxMessage(uid.decode(), raw[:MAX_MESSAGE_BYTES])

    def done(self, key: str) -> None:
        if self.done_folder:
            typ, _ = self.imap.uid("COPY", key, _quote(self.done_folder))
            if typ == "OK":
                self.imap.uid("STORE", key, "+FLAGS.SILENT", r"(\Seen \Deleted)")
                self.imap.expunge()
                return
        self.imap.uid("STORE", key, "+FLAGS.SILENT", r"(\Seen)")

    def close(self) -> None:
        try:
            self.imap.logout()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass


def oauth_token(s: Settings) -> str:
    """An access token by the OAuth 2.0 client credentials grant (Microsoft Entra ID: the app registration's
    client ID and secret, scope https://outlook.office365.com/.default, the app allowed on the mailbox)."""
    import httpx

    try:
        r = httpx.post(s.bounce_imap_oauth_token_url, timeout=30, data={
            "grant_type": "client_credentials", "client_id": s.bounce_imap_oauth_client_id,
            "client_secret": s.bounce_imap_oauth_client_secret, "scope": s.bounce_imap_oauth_scope})
    except httpx.HTTPError as exc:
        raise BounceMailboxError(f"cannot reach the OAuth token URL {s.bounce_imap_oauth_token_url}: {exc}") from None
    try:
        body = r.json()
    except ValueError:
        body = {}
    token = body.get("access_token") if isinstance(body, dict) else None
    if r.status_code != 200 or not token:
        why = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
        raise BounceMailboxError(f"the OAuth token URL refused the client {s.bounce_imap_oauth_client_id!r}: "
                                 f"{why or r.status_code}")
    return str(token)


def open_bounce_mailbox(settings: Settings) -> BounceMailbox:
    """The configured bounce mailbox: IMAP when a host is set, else the Maildir folder."""
    if settings.bounce_imap_host:
        return ImapMailbox(settings)
    return MaildirMailbox(settings.bounce_maildir_path)


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _words(data) -> str:
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data or [])
