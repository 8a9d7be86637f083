"""Tenants and their metadata: the service the REST API and the CLI both call.

- ``service``: tenant CRUD and metadata versions (``TenantService``);
- ``apply``: plan and apply metadata, atomically on both backends, and recover;
- ``archives``: data destructive changes kept, and its purge;
- ``packs``: the tenant's record of its installed packs and what they own;
- ``events``: who hears that a tenant's metadata changed;
- ``reports``: what a plan and an apply return.
"""

from runtime.tenants.reports import AfterMigrate, ApplyResult, PlanReport, StorageDrift
from runtime.tenants.service import TenantService

__all__ = ["AfterMigrate", "ApplyResult", "PlanReport", "StorageDrift", "TenantService"]
