"""The owner dashboard: server-rendered pages over the shop's personas, generation and listings."""
