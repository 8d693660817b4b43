"""Running the platform: background jobs, backups, monitoring and maintenance (docs/architecture.md)."""
