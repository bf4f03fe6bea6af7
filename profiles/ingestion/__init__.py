"""Event ingestion: lean per-event validation, then one bulk insert per batch."""
