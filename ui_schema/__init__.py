"""UI schemas: layouts and fields turned into JSON schemas for forms, record pages and lists.

Empty until the layouts work lands; the folder exists so the pipeline in
docs/architecture.md has its place from the start.
"""
