"""Who may use the app and the REST API, and who may change the document library.

``Access.from_settings(settings)`` reads ``POLICYQA_USERS`` ("user:password,user2:pw") and
``POLICYQA_ADMINS`` ("user,user2"). With no users configured the app is open and every
caller counts as an administrator (it listens on 127.0.0.1 unless told otherwise). With
users configured, a caller must sign in (Gradio's login page for the UI, HTTP Basic for
the API) and only the named admins may upload, delete or re-index.

``SignInGuard`` throttles guessing: after ``signin_free_failures`` wrong passwords in a
row for one user name, or from one address, that user (or address) is refused for a
back-off that doubles with each further failure (``signin_backoff_seconds``, at most
``signin_backoff_max_seconds``), even with the right password; every failure and every
lock-out is logged. A success resets the user's and the address's count.

This module holds no sessions and hashes nothing: passwords live in the environment of
the server process, as plain as the rest of its configuration.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import threading
import time
from dataclasses import dataclass, field

from rag.errors import ConfigError, SignInError, SignInThrottled
from rag.settings import Settings

log = logging.getLogger(__name__)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic …`` header; None when there is none.

    basic_credentials("Basic emhhbmc6cHc=") → ("zhang", "pw"); "Basic !!" → SignInError (Chinese).
    User names and passwords are UTF-8 (Chinese user names work).
    """
    if not header:
        return None
    scheme, _, param = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise SignInError(
            "登录信息格式不正确：HTTP Basic 凭据应为“用户名:密码”的 base64 编码"
        ) from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise SignInError("登录信息格式不正确：HTTP Basic 凭据中缺少“:”（应为 用户名:密码）")
    return user, password


def parse_users(spec: str) -> dict[str, str]:
    """User → password from "user:password,user2:pw" (a password may contain ':').

    parse_users("zhang:a:b, li:pw") → {"zhang": "a:b", "li": "pw"}
    """
    users: dict[str, str] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, password = item.partition(":")
        name = name.strip()
        if not sep or not name or not password:
            raise ConfigError(
                f"POLICYQA_USERS 格式不正确：“{name or item}”应写成 用户名:密码，多个用户用逗号分隔"
            )
        users[name] = password
    return users


@dataclass(frozen=True)
class Access:
    """The configured users and admins; empty ``users`` means no sign-in."""

    users: dict[str, str] = field(default_factory=dict)
    admins: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        users = parse_users(settings.users)
        admins = frozenset(a.strip() for a in settings.admins.split(",") if a.strip())
        unknown = sorted(admins - set(users)) if users else []
        if unknown:
            raise ConfigError(
                f"POLICYQA_ADMINS 中的用户不在 POLICYQA_USERS 中：{'、'.join(unknown)}"
            )
        return cls(users, admins)

    @property
    def enabled(self) -> bool:
        return bool(self.users)

    def check(self, user: str, password: str) -> bool:
        """Whether ``user`` exists and ``password`` is theirs (constant-time compare)."""
        known = self.users.get(user)
        if known is None:
            hmac.compare_digest(password.encode(), password.encode())  # same work for unknown users
            return False
        return hmac.compare_digest(known.encode(), password.encode())

    def is_admin(self, user: str | None) -> bool:
        """Open app: everyone. Signed-in app: only the users named in ``POLICYQA_ADMINS``."""
        if not self.enabled:
            return True
        return user is not None and user in self.admins


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class SignInGuard:
    """``Access.check`` with a back-off per user name and per client address (see the module docstring)."""

    def __init__(self, access: Access, settings: Settings) -> None:
        self.access = access
        self.free = settings.signin_free_failures
        self.base = settings.signin_backoff_seconds
        self.cap = settings.signin_backoff_max_seconds
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def backoff(self, failures: int) -> float:
        """Seconds refused after ``failures`` failures in a row: 0 up to ``free``, then doubling.

        With free 5, base 1 s, cap 300 s: 5 → 0, 6 → 1, 7 → 2, 8 → 4, … 15 → 300.
        """
        if failures <= self.free:
            return 0.0
        return float(min(self.cap, self.base * 2 ** min(failures - self.free - 1, 30)))

    def check(self, user: str, password: str, address: str = "") -> bool:
        """Whether the password is right; ``SignInThrottled`` while the user or address is locked out."""
        keys = [f"user:{user}", *([f"addr:{address}"] if address else [])]
        now = time.monotonic()
        with self._lock:
            wait = max(
                (self._failures[k].locked_until - now for k in keys if k in self._failures),
                default=0.0,
            )
        if wait > 0:
            log.warning(
                "sign-in refused (locked out for %.0f s more): user %r from %s",
                wait,
                user,
                address or "?",
            )
            raise SignInThrottled(f"登录失败次数过多，请 {max(1, round(wait))} 秒后再试。")
        ok = self.access.check(user, password)
        with self._lock:
            if ok:
                for k in keys:
                    self._failures.pop(k, None)
                return True
            for k in keys:
                f = self._failures.setdefault(k, _Failures())
                f.count += 1
                pause = self.backoff(f.count)
                f.locked_until = now + pause if pause else 0.0
            counts = [self._failures[k].count for k in keys]
        log.warning(
            "sign-in failed: user %r from %s (%s failures in a row)",
            user,
            address or "?",
            "/".join(map(str, counts)),
        )
        pause = max(self.backoff(c) for c in counts)
        if pause:
            log.warning(
                "sign-in locked for %.0f s: user %r, address %s", pause, user, address or "?"
            )
        return False
