"""Meta (Facebook Shop + Instagram Shopping) connector: Graph API v25.0, one catalog per connection."""
