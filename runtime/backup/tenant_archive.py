"""One tenant as a portable archive: its metadata history, every row, its members.

``export_tenant`` reads the tenant in one consistent snapshot (REPEATABLE READ on
PostgreSQL, one read transaction on SQLite) and writes a gzipped tar:

- ``manifest.json``: format and version, the tenant (name, display name, time zone, active
  version), the source database, every table with its columns' portable kinds and row
  count, and the members (by e-mail, with role, permission sets, admin flag, manager);
- ``versions.jsonl``: every metadata version as the registry holds it (number, hash,
  canonical snapshot, operations, author, message, time);
- ``tables/<name>.jsonl``: one JSON object per row, values in portable form.

``import_tenant`` makes a new tenant from an archive, on either backend: the registry
gets the same versions with the same numbers, the tables are created from the active
version (as an apply would), and the rows go in, references last where tables refer to
each other. On PostgreSQL all of it is one transaction; on SQLite the tenant file is
built and committed first and removed again if the registry cannot take the tenant.
API tokens and the audit log stay with the instance (see ``instance.py``).
"""

from runtime.backup.archive_format import FORMAT, FORMAT_VERSION, ArchiveError, Summary
from runtime.backup.tenant_export import export_tenant
from runtime.backup.tenant_import import import_tenant, read_manifest

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ArchiveError",
    "Summary",
    "export_tenant",
    "import_tenant",
    "read_manifest",
]
