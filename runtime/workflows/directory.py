"""A tenant's members as workflows see them: assignees, recipients and approvers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.records.values import ActionError
from runtime.security.identity import MemberInfo


@dataclass
class Directory:
    """A tenant's members, for assignment, recipients and approvers."""

    members: list[MemberInfo]

    def active(self) -> list[MemberInfo]:
        return sorted((m for m in self.members if m.user.active), key=lambda m: m.user.email)

    def by_email(self, email: str) -> MemberInfo:
        for m in self.members:
            if m.user.email == email.lower():
                return m
        raise ActionError(f"{email} is not a member of this tenant")

    def by_id(self, user_id: Any) -> MemberInfo | None:
        return next((m for m in self.members if str(m.user.id) == str(user_id)), None)

    def in_role(self, role: str) -> list[MemberInfo]:
        return [m for m in self.active() if m.role == role]
