"""The embedded mail catcher: real SMTP in (aiosmtplib), .eml files out, and the reader the web app uses."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from outreach.mailcatcher import (
    MailNotFound,
    list_messages,
    message_path,
    read_message,
    start_mail_catcher,
)
from tests.conftest import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _message(subject: str, *, to: str = "supplier@example.org", html: str | None = None,
             attachment: bytes | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Responsible Minerals Program <minerals@example.com>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(f"Plain text of {subject}\n")
    if html is not None:
        msg.add_alternative(html, subtype="html")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           filename="CMRT findings.xlsx")
    return msg


@pytest.fixture
async def catcher(tmp_path):
    port = free_port()
    server = await start_mail_catcher(tmp_path / "mail", port=port)
    yield port, tmp_path / "mail"
    server.close()
    await server.wait_closed()


async def test_every_message_is_kept_and_readable(catcher):
    port, mail_dir = catcher
    await aiosmtplib.send(_message("Annual CMRT request"), hostname="127.0.0.1", port=port)
    await aiosmtplib.send(
        _message("Your CMRT needs a correction – Déclaration 申报", html="<p>Cell <b>D12</b> is empty</p>",
                 attachment=b"PK\x03\x04 not really a workbook"),
        hostname="127.0.0.1", port=port,
        # Bcc: the envelope carries a recipient the headers do not show.
        recipients=["supplier@example.org", "compliance@example.com"],
    )

    caught = list_messages(mail_dir)
    assert [m.subject for m in caught] == [
        "Your CMRT needs a correction – Déclaration 申报", "Annual CMRT request"]  # newest first
    newest, oldest = caught
    assert newest.has_html and not oldest.has_html
    assert newest.received_at >= oldest.received_at
    assert newest.envelope_to == ("supplier@example.org", "compliance@example.com")
    assert "minerals@example.com" in newest.sender and newest.to == "supplier@example.org"

    opened = read_message(mail_dir, newest.id)
    assert opened.text.strip() == "Plain text of Your CMRT needs a correction – Déclaration 申报"
    assert opened.html.strip() == "<p>Cell <b>D12</b> is empty</p>"
    assert opened.attachments == ["CMRT findings.xlsx"]
    assert ("Subject", "Your CMRT needs a correction – Déclaration 申报") in opened.headers
    # The stored file is the message as sent, parseable by any mail reader.
    assert message_path(mail_dir, newest.id).read_bytes().startswith(b"X-Outreach-Envelope-From: ")


async def test_concurrent_senders_lose_nothing(catcher):
    port, mail_dir = catcher

    async def send_batch(worker: int) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
            for i in range(10):
                await client.send_message(_message(f"reminder {worker}-{i}"))

    await asyncio.gather(*(send_batch(w) for w in range(8)))
    caught = list_messages(mail_dir)
    assert sorted(m.subject for m in caught) == sorted(f"reminder {w}-{i}" for w in range(8) for i in range(10))
    assert len({m.id for m in caught}) == 80
    assert not [p for p in mail_dir.iterdir() if not p.name.endswith(".eml")]  # no temp files left
    assert len(list_messages(mail_dir, limit=5)) == 5


async def test_any_login_is_accepted(catcher):
    port, mail_dir = catcher
    await aiosmtplib.send(_message("with auth"), hostname="127.0.0.1", port=port,
                          username="relay-user", password="relay-password")
    assert [m.subject for m in list_messages(mail_dir)] == ["with auth"]


@pytest.mark.parametrize("bad_id", [
    "../secret_key", "..%2Fsecret_key", "/etc/passwd", "", "00000000000000000001-0123456789abcdef/../x",
    "00000000000000000001-0123456789ABCDEF", "00000000000000000001-0123456789abcdef",  # well formed, absent
])
async def test_ids_cannot_escape_the_mail_folder(catcher, bad_id):
    port, mail_dir = catcher
    (mail_dir.parent / "secret_key").write_text("do not show")
    with pytest.raises(MailNotFound):
        read_message(mail_dir, bad_id)


def test_unfinished_and_foreign_files_are_not_listed(tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    (mail_dir / ".00000000000000000001-0123456789abcdef.tmp").write_bytes(b"Subject: half\r\n")
    (mail_dir / "notes.eml").write_bytes(b"Subject: not ours\r\n\r\nx")
    assert list_messages(mail_dir) == []
    assert list_messages(tmp_path / "absent") == []


async def test_a_message_that_cannot_be_stored_is_refused_not_dropped(tmp_path):
    port = free_port()
    mail_dir = tmp_path / "mail"
    server = await start_mail_catcher(mail_dir, port=port)
    try:
        mail_dir.rmdir()
        mail_dir.write_text("a file where the folder should be")  # every write now fails
        with pytest.raises(aiosmtplib.SMTPResponseException) as err:
            await aiosmtplib.send(_message("lost?"), hostname="127.0.0.1", port=port)
        assert err.value.code == 451  # temporary: the sender keeps it and retries
    finally:
        server.close()
        await server.wait_closed()


def test_runs_alone_as_a_module(tmp_path):
    port = free_port()
    env = {**os.environ, "OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_MAIL_CATCHER_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "outreach.mailcatcher"], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert f"127.0.0.1:{port}" in line, line
        asyncio.run(aiosmtplib.send(_message("from the module"), hostname="127.0.0.1", port=port))
        assert [m.subject for m in list_messages(tmp_path / "var" / "mail")] == ["from the module"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_busy_port_is_one_clear_line(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_MAIL_CATCHER_PORT": str(port)}
        done = subprocess.run([sys.executable, "-m", "outreach.mailcatcher"], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr and "OUTREACH_MAIL_CATCHER_PORT" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_malformed_messages_are_listed_and_opened_not_crashed_on(tmp_path):
    from outreach.mailcatcher import store_message

    mail_dir = tmp_path / "mail"
    raw = (b"From: =?x-unknown?Q?Lieferant?= <s@example.org>\r\nTo: minerals@example.com\r\n"
           b"Subject: CMRT f\xfcr 2024 =?utf-8?B?broken\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n"
           b"Anbei unsere CMRT \xfc\r\n")
    mail_id = store_message(mail_dir, raw, "s@example.org", ["minerals@example.com"])
    [listed] = list_messages(mail_dir)
    assert listed.id == mail_id and "CMRT" in listed.subject and not listed.has_html
    opened = read_message(mail_dir, mail_id)
    assert "Anbei unsere CMRT" in opened.text and opened.html is None
