"""One module per area of the REST API, each exporting an `api` (gateway.api.ApiModule)."""
