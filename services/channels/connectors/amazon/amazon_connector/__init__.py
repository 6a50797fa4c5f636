"""Amazon Selling Partner API connector (omnistock.connector.v1.ConnectorService)."""
