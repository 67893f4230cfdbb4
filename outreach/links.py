"""Signed links: the supplier portal and the VP's decision page need no account.

A link names one survey (or one escalation), is signed with the product's secret, and expires. A
tampered or expired link is refused as a whole; it can never reveal another supplier's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from outreach.settings import Settings

PORTAL = "portal"
DECISION = "decision"


class LinkInvalid(Exception):
    """The link was altered or is not one of ours."""


class LinkExpired(Exception):
    """The link was ours but is too old; the message says whom to ask for a new one."""


@dataclass(frozen=True)
class LinkSigner:
    secret: str
    base_url: str
    portal_days: int = 120
    decision_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> "LinkSigner":
        return cls(settings.signing_key(), settings.public_base_url, settings.portal_link_days, settings.decision_link_days)

    def _serializer(self, scope: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=f"outreach-{scope}")

    def token(self, scope: str, subject: str) -> str:
        return self._serializer(scope).dumps({"s": subject})

    def subject(self, scope: str, token: str) -> str:
        max_age = (self.portal_days if scope == PORTAL else self.decision_days) * 86400
        try:
            payload = self._serializer(scope).loads(token, max_age=max_age)
        except SignatureExpired:
            raise LinkExpired(scope) from None
        except BadSignature:
            raise LinkInvalid(scope) from None
        if not isinstance(payload, dict) or not isinstance(payload.get("s"), str):
            raise LinkInvalid(scope)
        return payload["s"]

    def portal_url(self, survey_id: str) -> str:
        return f"{self.base_url}/portal/{self.token(PORTAL, survey_id)}"

    def decision_url(self, escalation_id: str) -> str:
        return f"{self.base_url}/decide/{self.token(DECISION, escalation_id)}"
