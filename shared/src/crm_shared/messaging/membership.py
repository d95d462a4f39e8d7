"""A stopping consumer leaves its group in every generation, Tansu's first (0) included."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.protocol.group import LeaveGroupRequest

log = logging.getLogger(__name__)


def leave_group_on_stop(consumer: AIOKafkaConsumer) -> None:
    """Make the started `consumer` leave its group when it stops, whatever its generation.

    aiokafka 0.14 sends LeaveGroup only from generation 1 on, as Kafka numbers generations; Tansu,
    the embedded broker, numbers its first one 0 (Kafka's first is 1, so there this adds nothing).
    A member that stopped there stayed in the group, with the partitions assigned to it, until the
    broker timed its session out: a client that replaced it (a restarted service, a reconnect) read
    nothing of them meanwhile, and, while it was the group's leader, got no assignment at all.
    """
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or not hasattr(coordinator, "_maybe_leave_group"):
        return  # no group, or an aiokafka this was not written for: its own rule applies
    leave_as_aiokafka_does = coordinator._maybe_leave_group

    async def leave() -> None:
        # Called by the coordinator's close (and when the consumer idled past its poll interval),
        # after the coordination task ended and before the connections close.
        if coordinator.generation == 0 and coordinator.member_id:
            try:
                await coordinator._send_req(
                    LeaveGroupRequest(coordinator.group_id, coordinator.member_id)
                )
            except KafkaError as exc:
                # Best effort, as aiokafka's own: the session timeout removes the member anyway.
                log.warning(
                    "%s: could not leave the group (%s)", coordinator.group_id, type(exc).__name__
                )
        await leave_as_aiokafka_does()  # resets the generation (sends nothing from 0)

    coordinator._maybe_leave_group = leave
