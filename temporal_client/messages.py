"""A workflow's updates, signals and queries called by their contract definitions.

``handle.execute_update(name, …)`` with a string name returns ``Any``; these wrappers return the
definition's result type and apply the RPC deadlines, so callers need no workflow class.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any, TypeVar, overload

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from contract.messages import NO_ARGUMENT, Query, Signal, Update
from temporal_client.rpc_errors import run_not_ready
from temporal_client.rpc_timeouts import QUERY_RPC_TIMEOUT, UPDATE_RPC_TIMEOUT

NOT_READY_PATIENCE = timedelta(seconds=10)
"""How long a query keeps asking a run that has not had its first workflow task (a practice that
has just continued as new gets it within milliseconds; a run still waiting after this is reported)."""
NOT_READY_FIRST_PAUSE = 0.05
NOT_READY_LONGEST_PAUSE = 1.0

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


async def execute_update(
    handle: WorkflowHandle[Any, Any],
    update: Update[ArgT, ResultT],
    arg: ArgT,
    *,
    id: str,
    rpc_timeout: timedelta = UPDATE_RPC_TIMEOUT,
) -> ResultT:
    """Send the update and wait for its result; ``id`` is the update id (a retry's dedup key)."""
    result: ResultT = await handle.execute_update(
        update.name, arg, id=id, result_type=update.result_type, rpc_timeout=rpc_timeout
    )
    return result


@overload
async def query_workflow(
    handle: WorkflowHandle[Any, Any],
    definition: Query[None, ResultT],
    *,
    rpc_timeout: timedelta = QUERY_RPC_TIMEOUT,
) -> ResultT: ...


@overload
async def query_workflow(
    handle: WorkflowHandle[Any, Any],
    definition: Query[ArgT, ResultT],
    arg: ArgT,
    *,
    rpc_timeout: timedelta = QUERY_RPC_TIMEOUT,
) -> ResultT: ...


async def query_workflow(
    handle: WorkflowHandle[Any, Any],
    definition: Query[Any, Any],
    arg: Any = None,
    *,
    rpc_timeout: timedelta = QUERY_RPC_TIMEOUT,
) -> Any:
    # A query without a parameter must receive no argument at all, not a None.
    args = [] if definition.arg_type is NO_ARGUMENT else [arg]
    give_up_at = time.monotonic() + NOT_READY_PATIENCE.total_seconds()
    pause = NOT_READY_FIRST_PAUSE
    while True:
        try:
            return await handle.query(
                definition.name, args=args, result_type=definition.result_type, rpc_timeout=rpc_timeout
            )
        except RPCError as error:
            if not run_not_ready(error) or time.monotonic() + pause > give_up_at:
                raise
        # Backing off between asks of the server, not waiting for an event of ours.
        await asyncio.sleep(pause)
        pause = min(pause * 2, NOT_READY_LONGEST_PAUSE)


async def signal_workflow(
    handle: WorkflowHandle[Any, Any], definition: Signal[ArgT], arg: ArgT, *, rpc_timeout: timedelta
) -> None:
    await handle.signal(definition.name, arg, rpc_timeout=rpc_timeout)
