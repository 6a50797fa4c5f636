"""eBay Sell APIs connector (Inventory v1, Fulfillment v1, Notification v1, OAuth)."""
