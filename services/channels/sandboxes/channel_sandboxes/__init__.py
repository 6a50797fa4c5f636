"""Local sandbox servers that speak the real Shopify and WooCommerce protocols, for tests and demos."""
