"""Compliance team accounts: argon2-hashed passwords for the dashboard, API tokens for the CLI and API,
dashboard sessions, and the sign-in limits.

An API token is ``out_<user id>_<random>``; only its SHA-256 is stored. A token is random and long, so a
fast hash is enough (argon2 would only slow every API call down) and the lookup stays an index hit.
A dashboard session is a random token in the (signed) cookie and a ``user_session`` row under its SHA-256:
signing out ends the row, so a copy of the cookie is worth nothing afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import delete, select

from models.columns import utcnow
from models.tables import SignInFailure, User, UserSession
from outreach import audit
from outreach.db import session_scope

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "out_"


class UserError(ValueError):
    """A user cannot be created as asked; the message says what to change."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_role(role: str) -> str:
    from outreach.roles import ROLES

    if role not in ROLES:
        raise UserError(f"{role!r} is not a role; the roles are {', '.join(ROLES)}")
    return role


def create_user(engine: Engine, email: str, password: str, *, name: str | None = None, role: str = "analyst",
                by: str | None = None) -> User:
    email = normalise_email(email)
    check_role(role)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise UserError(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    with session_scope(engine) as session:
        if session.exec(select(User).where(User.email == email)).first() is not None:
            raise UserError(f"a user with the email {email} already exists")
        user = User(email=email, name=name, password_hash=hash_password(password), role=role)
        session.add(user)
        session.flush()
        audit.record(session, actor=by or email, action="user.created", object_type="account", object_id=email,
                     after={"role": role, "name": name})
        session.refresh(user)
        return user


def authenticate(engine: Engine, email: str, password: str) -> User | None:
    """The user when the password is right, else None (same answer for an unknown email)."""
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.email == normalise_email(email))).first()
        if user is None:
            verify_password(_DUMMY_HASH, password)
            return None
        if not verify_password(user.password_hash, password) or user.deactivated_at is not None:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            session.add(user)
        return user


def has_users(engine: Engine) -> bool:
    with session_scope(engine) as session:
        return session.exec(select(User.id).limit(1)).first() is not None


def get_user(engine: Engine, user_id: int) -> User | None:
    with session_scope(engine) as session:
        return session.get(User, user_id)


def _user_by_email(session, email: str) -> User:
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None:
        raise UserError(f"no user with the email {email}")
    return user


def set_role(engine: Engine, email: str, role: str, *, by: str | None = None) -> User:
    """Change what an account may do; it takes effect on its next request (sessions and token included)."""
    check_role(role)
    with session_scope(engine) as session:
        user = _user_by_email(session, email)
        audit.record(session, actor=by, action="user.role_changed", object_type="account", object_id=user.email,
                     before={"role": user.role}, after={"role": role})
        user.role = role
        session.add(user)
        session.flush()
        session.refresh(user)
        return user


def deactivate_user(engine: Engine, email: str, *, by: str | None = None) -> User:
    """The account signs in no more: its sessions end and its API token is revoked. The row stays, since
    its email names who did what in the timelines."""
    with session_scope(engine) as session:
        user = _user_by_email(session, email)
        now = utcnow()
        if user.deactivated_at is None:
            audit.record(session, actor=by, action="user.deactivated", object_type="account", object_id=user.email,
                         before={"active": True, "api_token": user.api_token_hash is not None},
                         after={"active": False, "api_token": False})
        user.deactivated_at = user.deactivated_at or now
        user.api_token_hash = None
        session.add(user)
        for row in session.exec(select(UserSession).where(UserSession.user_id == user.id,
                                                          UserSession.ended_at.is_(None))):
            row.ended_at = now
            session.add(row)
        session.flush()
        session.refresh(user)
        return user


def list_users(engine: Engine) -> list[User]:
    with session_scope(engine) as session:
        return list(session.exec(select(User).order_by(User.email)))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_api_token(engine: Engine, email: str, *, by: str | None = None) -> str:
    """A new API token for the user (replacing any earlier one); shown once, stored hashed."""
    with session_scope(engine) as session:
        user = _user_by_email(session, email)
        if user.deactivated_at is not None:
            raise UserError(f"the account {user.email} is deactivated")
        token = f"{TOKEN_PREFIX}{user.id}_{secrets.token_urlsafe(32)}"
        audit.record(session, actor=by, action="user.token_issued", object_type="account", object_id=user.email,
                     before={"api_token": user.api_token_hash is not None}, after={"api_token": True})
        user.api_token_hash = _token_hash(token)
        session.add(user)
        return token


def user_for_token(engine: Engine, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = _token_hash(token)
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.api_token_hash == digest)).first()
        if user is None or not hmac.compare_digest(user.api_token_hash or "", digest) or user.deactivated_at:
            return None
        return user


# --- Dashboard sessions --------------------------------------------------------------------------


def start_session(engine: Engine, user_id: int, *, lifetime: timedelta, client_address: str | None = None) -> str:
    """A new session for the user: the token goes into the cookie, only its hash into the database."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with session_scope(engine) as session:
        # Housekeeping on the way: sessions long over are of no use (the addresses they came from are
        # remembered for KNOWN_ADDRESS_DAYS, see sign_in_lockout).
        session.exec(delete(UserSession).where(UserSession.expires_at < now - timedelta(days=KNOWN_ADDRESS_DAYS)))
        session.add(UserSession(token_hash=_token_hash(token), user_id=user_id, client_address=client_address,
                                created_at=now, expires_at=now + lifetime))
    return token


def session_user(engine: Engine, token: str) -> User | None:
    """The user of a session still running (not ended, not expired), else None."""
    with session_scope(engine) as session:
        row = session.exec(select(UserSession).where(UserSession.token_hash == _token_hash(token))).first()
        if row is None or row.ended_at is not None or row.expires_at <= utcnow():
            return None
        user = session.get(User, row.user_id)
        return user if user is not None and user.deactivated_at is None else None


def end_session(engine: Engine, token: str) -> None:
    """Sign out: the session ends on the server, whoever still holds its cookie."""
    with session_scope(engine) as session:
        row = session.exec(select(UserSession).where(UserSession.token_hash == _token_hash(token))).first()
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            session.add(row)


# --- Sign-in limits -------------------------------------------------------------------------------
#
# Failed sign-ins are counted in the database (every web replica sees the same counts), in three ways,
# each on its own:
# - one account from one address: a guesser at one place is stopped after a few tries, and only there;
#   the account's owner signing in from elsewhere is not locked out by a stranger's five requests;
# - one address, any accounts: one guess on each of many accounts (password spraying) is stopped too;
# - one account from any addresses: a guesser with many addresses is stopped.
# The last two never lock an account out of an address where it signed in lately (KNOWN_ADDRESS_DAYS):
# its owner still gets in from the usual place, and a reverse proxy that hides the clients' addresses
# (one address for everybody) cannot turn a stranger's guesses into everybody's lockout.
# A locked address is refused even with the right password: a correct guess must not tell.


KNOWN_ADDRESS_DAYS = 30


@dataclass(frozen=True)
class SignInLimits:
    window: timedelta = timedelta(minutes=15)
    per_account_and_address: int = 5
    per_address: int = 20
    per_account: int = 50


@dataclass(frozen=True)
class SignInLockout:
    message: str
    minutes: int


def _wait(failures: list[datetime], limit: int, window: timedelta, now: datetime) -> int:
    """Whole minutes until the count falls under the limit (the limit-th latest failure leaves the window)."""
    return int((window - (now - failures[-limit])).total_seconds() // 60) + 1


def sign_in_lockout(engine: Engine, email: str, client_address: str | None,
                    limits: SignInLimits = SignInLimits()) -> SignInLockout | None:
    """Why this address may not sign in to this account now (with how long to wait), or None."""
    now = utcnow()
    email = normalise_email(email)
    address = client_address or "unknown"
    with session_scope(engine) as session:
        def times(*where) -> list[datetime]:
            return list(session.exec(select(SignInFailure.at).where(SignInFailure.at > now - limits.window, *where)
                                     .order_by(SignInFailure.at)))

        here = times(SignInFailure.email == email, SignInFailure.client_address == address)
        if len(here) >= limits.per_account_and_address:
            minutes = _wait(here, limits.per_account_and_address, limits.window, now)
            return SignInLockout(f"Too many failed sign-ins for this account from your network. "
                                 f"Try again in {minutes} minutes.", minutes)
        known = session.exec(
            select(UserSession.id).join(User, User.id == UserSession.user_id)
            .where(User.email == email, UserSession.client_address == address,
                   UserSession.created_at > now - timedelta(days=KNOWN_ADDRESS_DAYS)).limit(1)).first()
        if known is not None:
            return None
        from_address = times(SignInFailure.client_address == address)
        if len(from_address) >= limits.per_address:
            minutes = _wait(from_address, limits.per_address, limits.window, now)
            return SignInLockout(f"Too many failed sign-ins from your network. Try again in {minutes} minutes.",
                                 minutes)
        on_account = times(SignInFailure.email == email)
        if len(on_account) >= limits.per_account:
            minutes = _wait(on_account, limits.per_account, limits.window, now)
            return SignInLockout(f"Too many failed sign-ins for this account from several places. Try again "
                                 f"in {minutes} minutes, or from a network where you signed in before.", minutes)
    return None


def record_sign_in_failure(engine: Engine, email: str, window: timedelta, client_address: str | None = None,
                           *, refused: str = "wrong email or password") -> None:
    """One more failure for this account and address; failures older than the window are forgotten on the way.
    The audit trail keeps every one (the table below only those that still count)."""
    with session_scope(engine) as session:
        audit.record(session, actor=normalise_email(email), action="sign_in_failed", object_type="account",
                     object_id=normalise_email(email), reason=refused, after={"address": client_address or "unknown"})
        session.exec(delete(SignInFailure).where(SignInFailure.at <= utcnow() - window))
        session.add(SignInFailure(email=normalise_email(email), client_address=client_address or "unknown"))


def clear_sign_in_failures(engine: Engine, email: str, window: timedelta, client_address: str | None = None) -> None:
    """After a sign-in: this account's failures from this address are forgiven. Those from elsewhere still
    count (a stranger's guesses are not wiped by the owner signing in), and so do this address's failures
    on other accounts."""
    with session_scope(engine) as session:
        audit.record(session, actor=normalise_email(email), action="sign_in", object_type="account",
                     object_id=normalise_email(email), after={"address": client_address or "unknown"})
        session.exec(delete(SignInFailure).where(SignInFailure.at <= utcnow() - window))
        session.exec(delete(SignInFailure).where(SignInFailure.email == normalise_email(email),
                                                 SignInFailure.client_address == (client_address or "unknown")))
