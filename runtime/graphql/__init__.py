"""The generated GraphQL API: metadata → schema → one SQL statement per root field.

``shape`` names everything, ``schema`` builds the graphql-core schema, ``compiler``
turns a validated selection into SQL that builds the response JSON in the database, and
``executor`` runs a request. ``cache`` keeps built schemas by metadata content hash.
"""
