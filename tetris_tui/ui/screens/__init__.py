"""Modal screens of the app: key help and worker errors."""
