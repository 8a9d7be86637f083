"""What several processes of one deployment must agree on: which cached things are
stale (generations in a shared store, pushed invalidation messages), and how many
requests a credential has made (rate limits).

With ``TESSERA_REDIS_URL`` the store and the rate counters live in Redis; without it
each process keeps its own (the embedded default is one process). Invalidation messages
travel by PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL, else by Redis
pub/sub when Redis is configured; a registry poll remains as the fallback.
"""
