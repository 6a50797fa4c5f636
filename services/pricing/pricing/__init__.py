"""The pricing service: channel prices, FX rates, bulk price changes and timed sales."""
