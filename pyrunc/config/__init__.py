"""The bundle's config.json: loading, schema validation and runtime checks."""
