"""What only connector services use: the rate-limited, retrying channel HTTP client and the connector base.

Kept out of omnistock_common so that core services do not carry connector plumbing.
"""
