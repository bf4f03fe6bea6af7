"""Connecting a store without an API key: signed webhooks (server to server) and the browser snippet."""
