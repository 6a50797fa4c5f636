"""Pure pricing rules: exact decimal arithmetic on integer minor units, no I/O, no generated code.

- `fx`: a tenant's FX table and conversions between any two of its currencies.
- `rounding`: the rounding rules (`none`, `0.99`, `nearest_0.05`) and the floor price.
- `changes`: bulk changes (percent or amount), their preview and its fingerprint.
- `sales`: timed sales and the transition due at a given instant.
"""
