"""Bounds on what one request may ask for, with the defaults the API uses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Request bounds. Breaking one is a GraphQL error that names the limit."""

    default_page_size: int = 100
    """Records a list returns when the query gives no ``first``/``last``."""
    max_page_size: int = 1000
    """Largest ``first``/``last`` accepted on lists and connections."""
    max_bulk_size: int = 500
    """Most records one bulk mutation may create, update or delete."""
    document_cache_size: int = 512
    """Parsed and validated documents kept per schema."""
    plan_cache_size: int = 2048
    """Compiled queries kept per schema (runtime/graphql/plans.py); 0 keeps none."""
    max_depth: int = 12
    """Deepest nesting of selection sets (the root field's selection is level 1)."""
    max_cost: int = 2_000_000
    """Most records a query may ask for: each list's page size times the lists above it."""
    max_filter_depth: int = 8
    """Deepest nesting of ``and``/``or``/``not`` and relation conditions in one filter."""
    max_filter_relations: int = 4
    """Most relation conditions nested inside one another in a filter (each is a
    subquery inside the one before: the cost of such a filter grows with every hop)."""
    max_filter_terms: int = 1000
    """Most conditions in one request's filters, each ``in``/``notIn`` item counted."""
