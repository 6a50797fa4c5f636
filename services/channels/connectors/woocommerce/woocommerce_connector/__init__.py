"""WooCommerce connector service (REST wc/v3) implementing omnistock.connector.v1."""
