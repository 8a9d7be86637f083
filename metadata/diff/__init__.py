"""Diff: compare two snapshots → typed operations → a plan the storage layer executes."""

from metadata.diff.plan import Plan, PlanRefused, diff

__all__ = ["Plan", "PlanRefused", "diff"]
