"""Who may use the app and the REST API, and who may change the document library.

``Access.from_settings(settings)`` reads ``POLICYQA_USERS`` ("user:password,user2:pw") and
``POLICYQA_ADMINS`` ("user,user2"). With no users configured the app is open and every
caller counts as an administrator (it listens on 127.0.0.1 unless told otherwise). With
users configured, a caller must sign in (Gradio's login page for the UI, HTTP Basic for
the API) and only the named admins may upload, delete or re-index.

This module holds no sessions and hashes nothing: passwords live in the environment of
the server process, as plain as the rest of its configuration.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from rag.errors import ConfigError
from rag.settings import Settings


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
            raise ConfigError(f"POLICYQA_USERS 格式不正确：“{name or item}”应写成 用户名:密码，多个用户用逗号分隔")
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
            raise ConfigError(f"POLICYQA_ADMINS 中的用户不在 POLICYQA_USERS 中：{'、'.join(unknown)}")
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
