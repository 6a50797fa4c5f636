"""Shopify connector service (GraphQL Admin API) implementing omnistock.connector.v1."""
