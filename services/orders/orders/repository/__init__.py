"""SQL of the orders service: the UnitOfWork and the Repository (SQLAlchemy Core, the same
statements on SQLite and PostgreSQL; upserts through omnistock_common.db.dialect_insert).

Lock order (what keeps concurrent writers free of deadlocks): an order's row first (inserted,
or SELECT ... FOR UPDATE), then its customer's duplicate guard row, then other orders' rows
(duplicate flags), then the operation row. SQLite's BEGIN IMMEDIATE serialises writers anyway.
"""

from orders.repository.unit_of_work import Repository, UnitOfWork

__all__ = ["Repository", "UnitOfWork"]
