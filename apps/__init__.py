"""Installable app packs (declarative files). Python code here is kept to a minimum.

``demo_crm/`` holds the demo tenant's metadata and sample records used by ``make demo``.
"""
