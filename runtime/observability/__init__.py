"""What an operator sees of a running Tessera: structured logs with request ids,
Prometheus metrics, and heartbeats of the processes that have no HTTP port (the beat)."""
