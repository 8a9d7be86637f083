"""The audit log's event kinds, apart from the log itself: the command line offers them
as choices without importing the database layer."""

from __future__ import annotations

#: Event kinds, for filters and docs.
KINDS = (
    "login",
    "login_failed",
    "token_refreshed",
    "token_created",
    "token_revoked",
    "token_used",
    "user_created",
    "user_changed",
    "membership_changed",
    "membership_removed",
    "metadata_applied",
    "permissions_changed",
    "tenant_created",
    "tenant_deleted",
    "tenant_imported",
    "backup_restored",
)
