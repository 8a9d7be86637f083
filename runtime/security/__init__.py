"""Who is asking and what they may do: identity, permissions compiled into SQL, audit.

- ``identity.py``: users, memberships, password sign-in (argon2) → JWT access and
  refresh tokens, API tokens (stored hashed); ``authenticate`` turns a bearer token
  into a Caller.
- ``grants.py``: a member's effective object and field permissions, from the tenant's
  permission metadata (pure functions; the schema a member sees is built from them).
- ``principal.py``: a Caller resolved against a tenant (role subtree, sharing rules),
  cached per tenant and forgotten when metadata or memberships change.
- ``rows.py``: the principal's row predicate as SQL, for the GraphQL compiler.
- ``audit.py``: the append-only audit log.
- ``rate.py``: request rate per token.
"""
