"""Who may do what: one table of roles, capabilities and the capability every route needs.

Every route of the web app and the API is named in :data:`ROUTES` (method and path as FastAPI writes
them). The web app's one authorisation dependency (``outreach.web.auth.authorize``) reads it on every
request, the pages read :func:`can` to hide what a user may not do, and ``tests/test_roles.py`` walks
every route with every role against it: a route missing here is refused to everyone and fails the suite.

Separation of duties: an administrator manages accounts, tokens, settings and reference lists and may
read everything, but does not run campaigns or act on a supplier's case; an analyst does, and manages
no accounts. One person who needs both holds two accounts.

A commodity manager reads and notes only the suppliers whose ``commodity_manager_email`` is theirs:
the supplier list filtered to them, their suppliers' pages and surveys, a note on their cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(str, Enum):
    admin = "admin"
    analyst = "analyst"
    auditor = "auditor"
    executive = "executive"
    commodity_manager = "commodity_manager"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)

ROLE_WORDS = {
    "admin": "an administrator (accounts, tokens, settings, reference lists, legal holds; reads everything)",
    "analyst": "a compliance analyst (campaigns and suppliers)",
    "auditor": "an auditor (every page, report and export, the audit trail, read-only)",
    "executive": "an executive (dashboards, reports, decisions on escalated cases)",
    "commodity_manager": "a commodity manager (reads and notes on the suppliers they manage)",
}

# --- Capabilities ----------------------------------------------------------------------------------

DASHBOARD = "dashboard.view"          # the campaign list, a campaign's page and progress
REPORTS = "reports.view"              # the report figures and draft, the supplier table as CSV
SUPPLIERS = "suppliers.view"          # every supplier, survey, submission and finding
OWN_SUPPLIERS = "suppliers.view_own"  # ... only the suppliers one manages (commodity_manager_email)
MAIL = "mail.view"                    # the caught mail and the bounce mailbox's reports
FILES = "files.view"                  # the suppliers' stored workbooks
CAMPAIGNS_RUN = "campaigns.run"       # start, pause, resume, cancel, add suppliers, load the demo
SURVEYS_ACT = "surveys.act"           # every survey action, accepting or rejecting files, uploading one
NOTE = "surveys.note"                 # a note in any survey's timeline
OWN_NOTE = "surveys.note_own"         # ... in the surveys of the suppliers one manages
DECIDE = "escalations.decide"         # the VP's decision on an escalated case
USERS = "users.manage"                # accounts, roles, API tokens (/admin/users; the CLI: `outreach users`)
HOLDS = "holds.manage"                # legal holds that stop the retention purge (/admin/holds; `outreach hold`)
SETTINGS = "settings.manage"          # settings and the reference lists (the CLI today: `outreach smelters`)
AUDIT = "audit.view"                  # the audit trail: who did what, sign-ins included (the CLI: `outreach audit`)
SMELTER_RISK = "smelters.risk"        # override a smelter's risk with a reason (the CLI: `outreach smelters risk`)
EVIDENCE = "evidence.export"          # a campaign's evidence pack: files, mail, timelines, report, its audit entries
DECLARE = "reports.declare"           # the company's own CMRT for its customers (it speaks for the company)

# A capability held "own" lets a role through a route that needs the full one, scoped to its suppliers.
OWN = {SUPPLIERS: OWN_SUPPLIERS, NOTE: OWN_NOTE}

# The evidence pack holds what these read (files, mail, every supplier) and the campaign's audit entries (never
# sign-ins: those belong to no campaign); an analyst answers an auditor's request with it, so every role that
# reads everything may take it, and not an executive or a commodity manager (the pack has every supplier's files).
_READ_ALL = frozenset({DASHBOARD, REPORTS, SUPPLIERS, MAIL, FILES, EVIDENCE})

CAPABILITIES: dict[str, frozenset[str]] = {
    # The audit trail is read by those who answer for the controls: the auditor, and the administrator who
    # investigates sign-ins and account changes. Not the analysts and executives whose actions it records
    # (it also names every account's sign-in addresses), nor commodity managers. Nobody may change it.
    # Legal holds: general counsel decides them and acts through an administrator (one role holds it, as for
    # accounts); the hold and its release name the administrator in the audit trail, the reason the matter.
    "admin": _READ_ALL | {USERS, SETTINGS, AUDIT, HOLDS},
    "analyst": _READ_ALL | {CAMPAIGNS_RUN, SURVEYS_ACT, NOTE, SMELTER_RISK, DECLARE},
    "auditor": _READ_ALL | {AUDIT},
    "executive": frozenset({DASHBOARD, REPORTS, SUPPLIERS, DECIDE}),
    "commodity_manager": frozenset({OWN_SUPPLIERS, OWN_NOTE}),
}

# --- Routes ----------------------------------------------------------------------------------------

PUBLIC = "public"              # anyone: health checks, sign-in, static documents
SIGNED_LINK = "public by link"  # no login: the signed link is the permission (supplier portal, VP decision)
SIGNED_IN = "signed in"        # any account


@dataclass(frozen=True)
class Rule:
    need: str                      # a capability, PUBLIC, SIGNED_LINK or SIGNED_IN
    by_action: dict | None = None  # for /actions/{action}: a capability per action name ("*": the rest)

    def capability(self, action: str | None) -> str:
        if self.by_action is None:
            return self.need
        return self.by_action.get(action or "", self.by_action["*"])


def _r(need: str, **by_action: str) -> Rule:
    return Rule(need, by_action or None)


_SURVEY_ACTION = _r(SURVEYS_ACT, add_note=NOTE, **{"*": SURVEYS_ACT})

ROUTES: dict[tuple[str, str], Rule] = {
    # Public: health, sign-in, first-run setup (local only, while no account exists), the API's description.
    ("GET", "/livez"): _r(PUBLIC),
    ("GET", "/healthz"): _r(PUBLIC),
    ("GET", "/favicon.ico"): _r(PUBLIC),
    ("GET", "/api/openapi.json"): _r(PUBLIC),
    ("GET", "/api/docs"): _r(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): _r(PUBLIC),  # Swagger UI's, where FastAPI puts it
    ("GET", "/login"): _r(PUBLIC),
    ("POST", "/login"): _r(PUBLIC),
    ("GET", "/setup"): _r(PUBLIC),
    ("POST", "/setup"): _r(PUBLIC),
    ("POST", "/logout"): _r(PUBLIC),
    # The supplier's portal and the VP's decision page: signed links, no user session.
    ("GET", "/portal/{token}"): _r(SIGNED_LINK),
    ("POST", "/portal/{token}/upload"): _r(SIGNED_LINK),
    ("POST", "/portal/{token}/plan"): _r(SIGNED_LINK),
    ("POST", "/portal/{token}/actions/{number}"): _r(SIGNED_LINK),
    ("POST", "/portal/{token}/language"): _r(SIGNED_LINK),
    ("GET", "/decide/{token}"): _r(SIGNED_LINK),
    ("POST", "/decide/{token}"): _r(SIGNED_LINK),
    # Dashboard pages.
    ("GET", "/"): _r(SIGNED_IN),  # the campaign list; a commodity manager is sent to their suppliers
    ("GET", "/api"): _r(SIGNED_IN),
    ("POST", "/demo"): _r(CAMPAIGNS_RUN),
    ("GET", "/campaigns/new"): _r(CAMPAIGNS_RUN),
    ("POST", "/campaigns"): _r(CAMPAIGNS_RUN),
    ("POST", "/campaigns/{campaign_id}/actions/{action}"): _r(CAMPAIGNS_RUN),
    ("POST", "/campaigns/{campaign_id}/suppliers"): _r(CAMPAIGNS_RUN),
    ("GET", "/campaigns/{campaign_id}"): _r(DASHBOARD),
    ("GET", "/campaigns/{campaign_id}/report"): _r(REPORTS),
    ("GET", "/campaigns/{campaign_id}/evidence.zip"): _r(EVIDENCE),
    ("POST", "/campaigns/{campaign_id}/declaration"): _r(DECLARE),
    ("GET", "/suppliers"): _r(SUPPLIERS),
    ("GET", "/suppliers.csv"): _r(REPORTS),
    ("GET", "/suppliers/{supplier_id}"): _r(SUPPLIERS),
    ("POST", "/suppliers/{supplier_id}/actions/{action}"): _SURVEY_ACTION,
    ("GET", "/files/{sha256}"): _r(FILES),
    ("GET", "/mail"): _r(MAIL),
    ("GET", "/mail/{mail_id}"): _r(MAIL),
    ("GET", "/bounces"): _r(MAIL),  # what relays reported after accepting a message (outreach/bounces/)
    ("GET", "/audit"): _r(AUDIT),
    ("GET", "/smelters/{cid}"): _r(SUPPLIERS),
    ("POST", "/smelters/{cid}/risk"): _r(SMELTER_RISK),
    # Escalated cases: read with the dashboard; decided by an executive signed in (the VP also by link).
    ("GET", "/escalations"): _r(DASHBOARD),
    ("GET", "/escalations/{escalation_id:path}"): _r(DASHBOARD),
    ("POST", "/escalations/{escalation_id:path}/decide"): _r(DECIDE),
    # The administrator's pages: accounts and legal holds.
    ("GET", "/admin/users"): _r(USERS),
    ("POST", "/admin/users"): _r(USERS),
    ("POST", "/admin/users/{user_id}/role"): _r(USERS),
    ("POST", "/admin/users/{user_id}/deactivate"): _r(USERS),
    ("POST", "/admin/users/{user_id}/token"): _r(USERS),
    ("GET", "/admin/holds"): _r(HOLDS),
    ("POST", "/admin/holds"): _r(HOLDS),
    ("POST", "/admin/holds/{hold_id}/release"): _r(HOLDS),
    # The review desk: everyone who sees the campaigns sees what waits for a person; analysts answer.
    ("GET", "/review"): _r(DASHBOARD),
    ("POST", "/review/answer"): _r(SURVEYS_ACT),
    ("POST", "/suppliers/{supplier_id}/reopen"): _r(SURVEYS_ACT),
    # The JSON API.
    ("GET", "/api/v1/suppliers"): _r(SUPPLIERS),
    ("GET", "/api/v1/suppliers/{supplier_id}"): _r(SUPPLIERS),
    ("GET", "/api/v1/campaigns"): _r(DASHBOARD),
    ("POST", "/api/v1/campaigns"): _r(CAMPAIGNS_RUN),
    ("POST", "/api/v1/campaigns/{campaign_id}/actions/{action}"): _r(CAMPAIGNS_RUN),
    ("GET", "/api/v1/campaigns/{campaign_id}"): _r(DASHBOARD),
    ("GET", "/api/v1/campaigns/{campaign_id}/progress"): _r(DASHBOARD),
    ("GET", "/api/v1/surveys/{survey_id:path}/status"): _r(SUPPLIERS),
    ("POST", "/api/v1/surveys/{survey_id:path}/submissions"): _r(SURVEYS_ACT),
    ("GET", "/api/v1/surveys/{survey_id:path}"): _r(SUPPLIERS),
    ("GET", "/api/v1/review"): _r(DASHBOARD),
    ("POST", "/api/v1/review/answer"): _r(SURVEYS_ACT),
    ("POST", "/api/v1/surveys/{survey_id:path}/reopen"): _r(SURVEYS_ACT),
    ("POST", "/portal/{token}/contact"): _r(SIGNED_LINK),
}
for _action in ("extend_deadline", "pause_reminders", "resume_reminders", "remind_now", "replace_contact",
                "add_note", "accept_submission", "reject_submission", "decide_risk", "verify_action", "withdraw"):
    ROUTES[("POST", f"/api/v1/surveys/{{survey_id:path}}/actions/{_action}")] = _r(
        NOTE if _action == "add_note" else SURVEYS_ACT)

NO_LOGIN = {PUBLIC, SIGNED_LINK}


# --- Decisions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    allowed: bool
    own_only: bool = False  # allowed for the suppliers the user manages only
    reason: str = ""


def can(role: str | None, capability: str) -> bool:
    """The role holds the capability outright (the pages hide what this says no to)."""
    return capability in CAPABILITIES.get(role or "", frozenset())


def can_own(role: str | None, capability: str) -> bool:
    """The role holds the capability, at least for the suppliers it manages."""
    return can(role, capability) or (capability in OWN and can(role, OWN[capability]))


def rule_for(method: str, path: str) -> Rule | None:
    return ROUTES.get((method.upper(), path))


def decide(role: str | None, method: str, path: str, action: str | None = None) -> Decision:
    """May a user of this role call this route (path as the route declares it)?"""
    rule = rule_for(method, path)
    if rule is None:
        return Decision(False, reason="This address has no rule in the permission table, so it is refused to "
                                      "everyone. An engineer adds it to outreach/roles.py.")
    need = rule.capability(action)
    if need in NO_LOGIN or need == SIGNED_IN:
        return Decision(True)
    if can(role, need):
        return Decision(True)
    if need in OWN and can(role, OWN[need]):
        return Decision(True, own_only=True)
    return Decision(False, reason=refusal(role, need))


_NEED_WORDS = {
    DASHBOARD: "see the campaigns",
    REPORTS: "see reports and exports",
    SUPPLIERS: "see suppliers",
    MAIL: "see the caught mail",
    FILES: "download suppliers' files",
    CAMPAIGNS_RUN: "start or change campaigns",
    SURVEYS_ACT: "act on a supplier's case",
    NOTE: "add notes",
    DECIDE: "decide escalated cases",
    USERS: "manage accounts",
    HOLDS: "place or release legal holds",
    SETTINGS: "change settings",
    AUDIT: "read the audit trail",
    SMELTER_RISK: "override a smelter's risk",
    EVIDENCE: "download a campaign's evidence pack",
    DECLARE: "produce the company's own CMRT",
}


def refusal(role: str | None, need: str) -> str:
    who = ROLE_WORDS.get(role or "", "an account without a known role")
    holders = [r for r in ROLES if can(r, need)]
    return (f"Your account is {who}, and may not {_NEED_WORDS.get(need, need)}. "
            f"Ask an administrator if you need this: it takes the role {' or '.join(holders) or 'none'}.")


def not_yours(supplier_id: str) -> str:
    return (f"Supplier {supplier_id} is managed by someone else: as a commodity manager you see and note only "
            f"the suppliers whose commodity manager you are.")
