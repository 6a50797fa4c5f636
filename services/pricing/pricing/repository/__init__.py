"""SQL of the pricing service: the UnitOfWork and the Repository (SQLAlchemy Core, the same
statements on SQLite and PostgreSQL).

Lock order (what keeps concurrent writers free of deadlocks): the bulk preview row, then the FX
table row, then channel price rows in (connection, SKU) order, then a timed sale's row.
SQLite's BEGIN IMMEDIATE serialises writers anyway.
"""

from pricing.repository.unit_of_work import Repository, UnitOfWork

__all__ = ["Repository", "UnitOfWork"]
