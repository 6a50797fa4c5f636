"""The channel sync engine, one module per job.

- `settings`: the engine's knobs (CHANNELS_SYNC_* / CHANNELS_ORDER_* / CHANNELS_RECONCILE_*).
- `store`: the Redis coalescing store (pending figures, due set, Lua compares) and event intake.
- `engine`: SyncEngine, the collaborators every job shares.
- `flusher`: per-connection locks, bulk pushes, backoff.
- `in_flight`: in-flight order protection (commitments, order polls).
- `reconcile`: read-back and overwrite, on-demand sync jobs, scheduled order polls.
- `settlement`: `orders.order_imported` settles the order's commitments.
- `inventory_source`: the current stock figures, read from the inventory service over gRPC.
- `runtime`: per-OS-thread clients and the Runtime the worker's jobs share.
- `repository`: the engine's SQL (mixed into channels.repository.Repository).

channels.composition builds the engine for both the gRPC server and the nameko worker
(channels.worker, the only module here that knows nameko or eventlet).
"""
