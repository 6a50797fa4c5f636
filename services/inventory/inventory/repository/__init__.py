"""SQL of the inventory service: the UnitOfWork, the Repository (SQLAlchemy) and the group
primitives of reservations and commits (group_transaction.py; on PostgreSQL pg_group.py and
pg_statements.py, elsewhere sql_group.py).

Concurrency contract (what makes replicas safe without in-process locks): every writer takes
row locks in ONE global order — (1) the reservation row, (2) stock_levels rows sorted by
(sku, location_id), (3) sku_states rows sorted by sku — so two transactions can wait on each
other but never in a cycle. Stock is changed only by conditional UPDATEs (or after locking the
row), and a CHECK constraint rejects any row with on_hand < reserved or reserved < 0.
"""

from inventory.repository.group_transaction import Figures, GroupTransaction, ReserveLookup
from inventory.repository.sql import Repository
from inventory.repository.unit_of_work import UnitOfWork, is_retryable

__all__ = ["Figures", "GroupTransaction", "Repository", "ReserveLookup", "UnitOfWork", "is_retryable"]
