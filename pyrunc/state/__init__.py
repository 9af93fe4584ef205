"""The on-disk state of containers: one locked directory per container under --root."""
