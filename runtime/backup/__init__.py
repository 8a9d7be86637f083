"""Backups: one tenant as a portable archive (``tenant_archive``), and a whole instance
(``instance``): users, credentials, the audit log and every tenant."""
