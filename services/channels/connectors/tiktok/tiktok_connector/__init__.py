"""TikTok Shop connector (omnistock.connector.v1.ConnectorService over the Partner API 202309)."""
