"""Shapes of POST /events/batch: its body (documentation) and the error_processing 2 report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from events_api.core.openapi import InvalidParamOut
from events_api.events.schemas import EventPostBody

MAX_BATCH_ITEMS = 1000


class EventBatchBody(BaseModel):
    """Request body of POST /events/batch (documentation; read by events.batch.read_batch)."""

    events: list[EventPostBody] = Field(
        max_length=MAX_BATCH_ITEMS,
        description="Up to 1000 items, each exactly a POST /events body.",
    )
    error_processing: Literal[1, 2] = Field(
        default=1,
        description=(
            "The batch method's behaviour when an item is invalid. 1 (default): the first "
            "error rolls back all changes (400, every problem of every item listed, nothing "
            "written). 2: every valid item is written and the failed ones are reported "
            "(200 with the report; 204 when none failed)."
        ),
    )


class FailedItem(BaseModel):
    index: int = Field(examples=[12], description="Position of the item in `events`, from 0.")
    invalid_params: list[InvalidParamOut] = Field(
        description="Every problem of the item, named by its path in the batch body."
    )


class BatchReport(BaseModel):
    """error_processing 2 when some items failed: what was written and what was not."""

    written: int = Field(examples=[198], description="Events written by this batch.")
    failed_items: list[FailedItem]
    total_items: int = Field(examples=[2], description="Number of failed items.")
