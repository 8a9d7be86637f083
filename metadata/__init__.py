"""Tessera metadata: the model, its JSON Schema, validation, snapshots, diff and registry.

The pipeline reads left to right::

    source (YAML/JSON + positions) → validation (schema + semantic) → model → snapshot
    → diff (typed operations) → registry (versions per tenant)
"""
