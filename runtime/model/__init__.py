"""The compiled model: what a tenant's metadata means to the runtime (names, relations,
tables and typed expressions), built once per metadata content hash."""
