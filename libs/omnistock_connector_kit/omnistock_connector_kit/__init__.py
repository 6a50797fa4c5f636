"""What only connector services use: the rate-limited, retrying channel HTTP client, the contract's
errors, and the connector template (servicer base, client factory, composition helpers).

Kept out of omnistock_common so that core services do not carry connector plumbing; README.md
says which module holds what and what a new connector provides.
"""
