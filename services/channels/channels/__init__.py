"""Channels service: connections, credentials, listings, sync engine, webhook intake."""
