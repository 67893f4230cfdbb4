"""Bounces as real relays send them, made here (no real person's mail): the shapes of Postfix, Microsoft
365 (Exchange Online NDR), Gmail, Amazon SES (DSN and the JSON notification), Exim and qmail, a soft
mailbox-full DSN, an out-of-office auto-reply and a bounce for a message the product never sent.

Each builder takes the address the bounce is delivered to (``to``: the VERP return path, or the plain
bounce address when the relay drops it), the failed recipient and the original Message-ID, and returns the
raw bytes the bounce mailbox would hold.
"""

from __future__ import annotations

import json

DATE = "Wed, 02 Dec 2026 16:05:11 +0000"
SUBJECT = "Conflict Minerals Reporting Template request 2025"
FROM = "Responsible Minerals Program <minerals@company.test>"


def _original_headers(rcpt: str, mid: str, return_path: str) -> str:
    return (f"Return-Path: <{return_path}>\r\nFrom: {FROM}\r\nTo: {rcpt}\r\nSubject: {SUBJECT}\r\n"
            f"Date: {DATE}\r\nMessage-ID: {mid}\r\nX-Outreach-Template: request\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n")


def _report(headers: str, human: str, dsn: str, returned: str, returned_type: str = "text/rfc822-headers",
            human_type: str = "text/plain") -> bytes:
    b = "=_report_boundary_42"
    return (f"{headers}MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"\r\n\r\n'
            f"This is a MIME-encapsulated message.\r\n\r\n--{b}\r\n"
            f"Content-Type: {human_type}; charset=us-ascii\r\n\r\n{human}\r\n\r\n--{b}\r\n"
            f"Content-Type: message/delivery-status\r\n\r\n{dsn}\r\n\r\n--{b}\r\n"
            f"Content-Type: {returned_type}\r\n\r\n{returned}\r\n--{b}--\r\n").encode()


def postfix_dsn(to: str, rcpt: str, mid: str) -> bytes:
    headers = (f"Return-Path: <>\r\nDelivered-To: {to}\r\nDate: {DATE}\r\n"
               "From: MAILER-DAEMON@relay.company.test (Mail Delivery System)\r\n"
               f"Subject: Undelivered Mail Returned to Sender\r\nTo: {to}\r\nAuto-Submitted: auto-replied\r\n"
               "Message-Id: <20261202160511.4F1C2A0123@relay.company.test>\r\n")
    # Postfix marks its bounces auto-replied (RFC 3834 says auto-generated): the report type decides.
    human = ("This is the mail system at host relay.company.test.\r\n\r\nI'm sorry to have to inform you that your "
             "message could not\r\nbe delivered to one or more recipients.\r\n\r\n"
             f"<{rcpt}>: host mx.acme.test[192.0.2.25] said: 550 5.1.1\r\n    <{rcpt}>: Recipient address rejected: "
             "User unknown in virtual mailbox table\r\n    (in reply to RCPT TO command)")
    dsn = ("Reporting-MTA: dns; relay.company.test\r\nX-Postfix-Queue-ID: 4F1C2A0123\r\n"
           f"X-Postfix-Sender: rfc822; {to}\r\nArrival-Date: {DATE}\r\n\r\n"
           f"Final-Recipient: rfc822; {rcpt}\r\nOriginal-Recipient: rfc822;{rcpt}\r\nAction: failed\r\n"
           "Status: 5.1.1\r\nRemote-MTA: dns; mx.acme.test\r\n"
           f"Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual\r\n"
           "    mailbox table")
    return _report(headers, human, dsn, _original_headers(rcpt, mid, to))


def postfix_mailbox_full(to: str, rcpt: str, mid: str) -> bytes:
    """A soft bounce: Postfix's delay warning for a full mailbox (Action: delayed, Status 4.2.2)."""
    headers = (f"Return-Path: <>\r\nDelivered-To: {to}\r\nDate: {DATE}\r\n"
               "From: MAILER-DAEMON@relay.company.test (Mail Delivery System)\r\n"
               f"Subject: Delayed Mail (still being retried)\r\nTo: {to}\r\nAuto-Submitted: auto-generated\r\n"
               "Message-Id: <20261202160999.11AA2A0123@relay.company.test>\r\n")
    human = ("This is the mail system at host relay.company.test.\r\n\r\n####################################"
             "\r\n# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
             "####################################\r\n\r\nYour message could not be delivered for more than 4 "
             "hour(s).\r\nIt will be retried until it is 5 day(s) old.")
    dsn = ("Reporting-MTA: dns; relay.company.test\r\nX-Postfix-Queue-ID: 11AA2A0123\r\n"
           f"Arrival-Date: {DATE}\r\n\r\nFinal-Recipient: rfc822; {rcpt}\r\nOriginal-Recipient: rfc822;{rcpt}\r\n"
           "Action: delayed\r\nStatus: 4.2.2\r\nRemote-MTA: dns; mx.acme.test\r\n"
           f"Diagnostic-Code: smtp; 452 4.2.2 <{rcpt}>: Mailbox full\r\nWill-Retry-Until: Mon, 7 Dec 2026 16:05:11 +0000")
    return _report(headers, human, dsn, _original_headers(rcpt, mid, to))


def microsoft365_ndr(to: str, rcpt: str, mid: str) -> bytes:
    """Exchange Online's non-delivery report: HTML for people, a DSN and the whole original message."""
    headers = (f"Received: from AM0PR01MB1234.eurprd01.prod.exchangelabs.com by AM0PR01MB1234.eurprd01.prod."
               f"exchangelabs.com; {DATE}\r\nFrom: postmaster@company.onmicrosoft.com\r\nTo: {to}\r\n"
               f"Date: {DATE}\r\nSubject: Undeliverable: {SUBJECT}\r\nContent-Language: en-US\r\n"
               "Message-ID: <b3c1e0f2-0d0c-4d7a-9a55-77b0c1f0aa11@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>\r\n"
               f"In-Reply-To: {mid}\r\nReferences: {mid}\r\nX-MS-Exchange-Message-Is-Ndr:\r\nAuto-Submitted: auto-replied\r\n")
    human = ("<html><body><p><b><font color=\"#000066\">Your message to " + rcpt + " couldn't be delivered.</font></b>"
             "</p><p>" + rcpt.split("@")[0] + " wasn't found at acme.test.</p><p><b>Action Required</b><br>"
             "Recipient</p><p>Unknown To address</p><p>Diagnostic information for administrators:</p>"
             f"<p>Generating server: AM0PR01MB1234.eurprd01.prod.exchangelabs.com<br>{rcpt}<br>Remote server returned "
             "'550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'</p></body></html>")
    dsn = ("Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\r\nReceived-From-MTA: "
           f"dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\r\nArrival-Date: {DATE}\r\n\r\n"
           f"Original-Recipient: rfc822;{rcpt}\r\nFinal-Recipient: rfc822;{rcpt}\r\nAction: failed\r\n"
           "Status: 5.1.10\r\nDiagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found "
           "by SMTP address lookup")
    original = _original_headers(rcpt, mid, to) + "\r\nPlease complete the attached template.\r\n"
    return _report(headers, human, dsn, original, returned_type="message/rfc822", human_type="text/html")


def gmail_dsn(to: str, rcpt: str, mid: str) -> bytes:
    headers = (f"Delivered-To: {to}\r\nReturn-Path: <>\r\nFrom: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
               f"To: {to}\r\nAuto-Submitted: auto-replied\r\nSubject: Delivery Status Notification (Failure)\r\n"
               f"References: {mid}\r\nIn-Reply-To: {mid}\r\nX-Failed-Recipients: {rcpt}\r\n"
               f"Message-ID: <6571a0c2.050a0220.1b2d3.0042.GMR@mx.google.com>\r\nDate: {DATE}\r\n")
    human = (f"** Address not found **\r\n\r\nYour message wasn't delivered to {rcpt} because the address couldn't "
             "be found, or is unable to receive mail.\r\n\r\nThe response from the remote server was:\r\n"
             "550 5.1.1 The email account that you tried to reach does not exist.")
    dsn = ("Reporting-MTA: dns; googlemail.com\r\nReceived-From-MTA: dns; minerals@company.test\r\n"
           f"Arrival-Date: {DATE}\r\n\r\nFinal-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
           "Remote-MTA: dns; gmail-smtp-in.l.google.com. (2a00:1450:400c:c0b::1b, the server for the domain acme.test.)\r\n"
           "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
           " 550 5.1.1 double-checking the recipient's email address for typos.\r\nLast-Attempt-Date: " + DATE)
    return _report(headers, human, dsn, _original_headers(rcpt, mid, to))


def ses_dsn(to: str, rcpt: str, mid: str) -> bytes:
    headers = (f"Return-Path: <>\r\nTo: {to}\r\nFrom: MAILER-DAEMON@amazonses.com\r\nDate: {DATE}\r\n"
               "Subject: Delivery Status Notification (Failure)\r\n"
               "Message-ID: <0100018c2a1b9e2f-5f3c1d2a-ses-bounce-000000@email.amazonses.com>\r\n")
    human = ("An error occurred while trying to deliver the mail to the following recipients:\r\n" + rcpt)
    dsn = ("Reporting-MTA: dns; a8-30.smtp-out.amazonses.com\r\n\r\n"
           f"Action: failed\r\nFinal-Recipient: rfc822; {rcpt}\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
           "Status: 5.1.1")
    return _report(headers, human, dsn, _original_headers(rcpt, mid, to))


def ses_notification(to: str, rcpt: str, mid: str, *, permanent: bool = True) -> bytes:
    """The JSON bounce notification SES publishes (here as SNS delivers it to an email subscription)."""
    doc = {"notificationType": "Bounce",
           "bounce": {"bounceType": "Permanent" if permanent else "Transient",
                      "bounceSubType": "General" if permanent else "MailboxFull",
                      "bouncedRecipients": [{"emailAddress": rcpt, "action": "failed", "status": "5.1.1",
                                             "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                      "timestamp": "2026-12-02T16:05:11.000Z", "feedbackId": "0100018c2a1b9e2f-feedback",
                      "reportingMTA": "dsn; a8-30.smtp-out.amazonses.com"},
           "mail": {"timestamp": "2026-12-02T16:05:09.000Z", "source": to, "messageId": "0100018c2a1b9e00-ses-id",
                    "destination": [rcpt], "headers": [{"name": "Message-ID", "value": mid}],
                    "commonHeaders": {"from": [FROM], "to": [rcpt], "messageId": mid, "subject": SUBJECT}}}
    body = json.dumps({"Type": "Notification", "MessageId": "a1b2c3", "TopicArn": "arn:aws:sns:eu-west-1:123:bounces",
                       "Message": json.dumps(doc)})
    return (f"From: AWS Notifications <no-reply@sns.amazonaws.com>\r\nTo: bounces@company.test\r\nDate: {DATE}\r\n"
            "Subject: AWS Notification Message\r\nMessage-ID: <0100018c-sns-notification@email.amazonses.com>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{body}\r\n").encode()


def exim_bounce(to: str, rcpt: str, mid: str) -> bytes:
    return (f"Return-path: <>\r\nEnvelope-to: {to}\r\nDelivery-date: {DATE}\r\nX-Failed-Recipients: {rcpt}\r\n"
            "Auto-Submitted: auto-replied\r\nFrom: Mail Delivery System <Mailer-Daemon@mx1.hosting.test>\r\n"
            f"To: {to}\r\nSubject: Mail delivery failed: returning message to sender\r\n"
            f"Message-Id: <E1vQq8w-0004Xy-2T@mx1.hosting.test>\r\nDate: {DATE}\r\n\r\n"
            "This message was created automatically by mail delivery software.\r\n\r\n"
            "A message that you sent could not be delivered to one or more of its\r\nrecipients. This is a "
            "permanent error. The following address(es) failed:\r\n\r\n"
            f"  {rcpt}\r\n    SMTP error from remote mail server after RCPT TO:<{rcpt}>:\r\n"
            "    550 5.1.1 No such user here\r\n\r\n------ This is a copy of the message, including all the headers. "
            "------\r\n\r\n" + _original_headers(rcpt, mid, to) + "\r\nPlease complete the attached template.\r\n").encode()


def qmail_bounce(to: str, rcpt: str, mid: str) -> bytes:
    """qmail's QSBMF: no DSN, the original quoted below a line."""
    return (f"Return-Path: <>\r\nDelivered-To: {to}\r\nDate: {DATE}\r\nFrom: MAILER-DAEMON@mail.oldhost.test\r\n"
            f"To: {to}\r\nSubject: failure notice\r\n\r\n"
            "Hi. This is the qmail-send program at mail.oldhost.test.\r\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
            "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
            f"<{rcpt}>:\r\n192.0.2.80 does not like recipient.\r\nRemote host said: 550 5.1.1 unknown user\r\n"
            "Giving up on 192.0.2.80.\r\n\r\n--- Below this line is a copy of the message.\r\n\r\n"
            + _original_headers(rcpt, mid, to) + "\r\nPlease complete the attached template.\r\n").encode()


def out_of_office(to: str, rcpt: str, mid: str) -> bytes:
    """An auto-reply that reached the return path: never a bounce."""
    return (f"From: Jane Doe <{rcpt}>\r\nTo: {to}\r\nDate: {DATE}\r\nSubject: Automatic reply: {SUBJECT}\r\n"
            f"Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\nIn-Reply-To: {mid}\r\n"
            "Message-ID: <ooo-4711@acme.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "I am out of the office until 4 January with limited access to e-mail. For urgent matters please "
            "contact purchasing@acme.test.\r\n").encode()


HARD_STYLES = {"postfix": postfix_dsn, "microsoft365": microsoft365_ndr, "gmail": gmail_dsn, "ses_dsn": ses_dsn,
               "ses_notification": ses_notification, "exim": exim_bounce, "qmail": qmail_bounce}
