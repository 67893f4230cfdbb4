"""Compliance team accounts: argon2-hashed passwords for the dashboard, API tokens for the CLI and API.

An API token is ``out_<user id>_<random>``; only its SHA-256 is stored. A token is random and long, so a
fast hash is enough (argon2 would only slow every API call down) and the lookup stays an index hit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import delete, select

from models.columns import utcnow
from models.tables import SignInFailure, User
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


def create_user(engine: Engine, email: str, password: str, *, name: str | None = None, role: str = "analyst") -> User:
    email = normalise_email(email)
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
        session.refresh(user)
        return user


def authenticate(engine: Engine, email: str, password: str) -> User | None:
    """The user when the password is right, else None (same answer for an unknown email)."""
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.email == normalise_email(email))).first()
        if user is None:
            verify_password(_DUMMY_HASH, password)
            return None
        if not verify_password(user.password_hash, password):
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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_api_token(engine: Engine, email: str) -> str:
    """A new API token for the user (replacing any earlier one); shown once, stored hashed."""
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.email == normalise_email(email))).first()
        if user is None:
            raise UserError(f"no user with the email {email}")
        token = f"{TOKEN_PREFIX}{user.id}_{secrets.token_urlsafe(32)}"
        user.api_token_hash = _token_hash(token)
        session.add(user)
        return token


def user_for_token(engine: Engine, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = _token_hash(token)
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.api_token_hash == digest)).first()
        if user is None or not hmac.compare_digest(user.api_token_hash or "", digest):
            return None
        return user


def recent_sign_in_failures(engine: Engine, email: str, window: timedelta) -> list[datetime]:
    """The failed sign-ins for this address within the window, oldest first."""
    since = utcnow() - window
    with session_scope(engine) as session:
        return list(session.exec(select(SignInFailure.at).where(
            SignInFailure.email == normalise_email(email), SignInFailure.at > since).order_by(SignInFailure.at)))


def record_sign_in_failure(engine: Engine, email: str, window: timedelta) -> None:
    """One more failure for this address; failures older than the window are forgotten on the way."""
    with session_scope(engine) as session:
        session.exec(delete(SignInFailure).where(SignInFailure.at <= utcnow() - window))
        session.add(SignInFailure(email=normalise_email(email)))


def clear_sign_in_failures(engine: Engine, email: str) -> None:
    with session_scope(engine) as session:
        session.exec(delete(SignInFailure).where(SignInFailure.email == normalise_email(email)))
