"""StockPort adapter: initial stock of imported rows goes to InventoryService.BatchAdjust."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from catalog.service import StockLine, StockUnavailable
from omnistock.inventory.v1 import inventory_service_pb2 as inv
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.context import CallContext

IMPORT_REFERENCE = "catalog-import"


class InventoryStock:
    """Sets absolute on-hand quantities in one BatchAdjust call per import batch."""

    def __init__(
        self, stub: DeadlineStub[inv_grpc.InventoryServiceStub], channel: grpc.Channel | None = None
    ) -> None:
        self._stub = stub
        self._channel = channel  # set when this adapter opened it (connect), so close() closes it

    @classmethod
    def connect(cls, address: str, timeout: float) -> InventoryStock:
        channel = make_channel(address)
        return cls(DeadlineStub(inv_grpc.InventoryServiceStub(channel), timeout), channel)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    def set_stock(self, ctx: CallContext, lines: Sequence[StockLine]) -> dict[int, str]:
        request = inv.BatchAdjustRequest(
            lines=[
                inv.AdjustmentLine(
                    sku=line.sku,
                    location_code=line.location,
                    set=line.quantity,
                    reason=inv.ADJUSTMENT_REASON_IMPORT,
                    reference=IMPORT_REFERENCE,
                )
                for line in lines
            ]
        )
        try:
            response = self._stub.call(ctx).BatchAdjust(request)
        except grpc.RpcError as exc:
            code = exc.code().name if hasattr(exc, "code") else "UNKNOWN"
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise StockUnavailable(f"inventory service {code}: {details}") from None
        refused: dict[int, str] = {}
        answered: set[int] = set()
        for result in response.results:
            answered.add(result.index)
            if result.WhichOneof("result") == "error":
                refused[result.index] = (
                    f"inventory refused the quantity ({result.error.code}): {result.error.message}"
                )
        for index in range(len(lines)):
            if index not in answered:
                refused[index] = "inventory returned no result for this line; stock not confirmed"
        return refused
