"""Create every topic the platform declares (crm_shared.wiring), with its partitions: a CLI.

    python -m crm_shared.messaging.create_topics [--bootstrap-servers H:P,...]
        [--replication-factor N] [--list] [--wait SECONDS]

The Kubernetes Job `crm-create-topics` runs it to create the topics with their replicas; existing
topics are left alone, so running it again is safe. Nothing orders a Job before a Deployment, so
each service's pod starts with an init container running `--wait`: it creates nothing and exits
once every topic exists (and the services, with CRM_REQUIRE_TOPICS=true, never create one with a
single replica themselves). The bootstrap servers default to KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Sequence

from crm_shared.messaging.kafka import ensure_topics, missing_topics
from crm_shared.settings import PlatformSettings
from crm_shared.topics import Topic
from crm_shared.wiring import TOPIC_USES


def declared_topics() -> tuple[Topic, ...]:
    """Every topic a service sends to or receives from, as declared in crm_shared.wiring."""
    by_name = {use.topic.name: use.topic for use in TOPIC_USES}
    return tuple(by_name[name] for name in sorted(by_name))


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m crm_shared.messaging.create_topics",
        description="Create the platform's topics (from crm_shared.wiring) that do not exist yet.",
    )
    parser.add_argument(
        "--bootstrap-servers",
        default=None,
        help="host:port[,host:port...]; default: KAFKA_BOOTSTRAP_SERVERS",
    )
    parser.add_argument(
        "--replication-factor",
        type=int,
        default=1,
        help="replicas of each new topic (3 on a production cluster)",
    )
    parser.add_argument(
        "--list", action="store_true", help="print the topics and partitions; create nothing"
    )
    parser.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        default=None,
        help="create nothing: wait up to SECONDS until every topic exists (exit 1 if not)",
    )
    args = parser.parse_args(argv)
    if args.replication_factor < 1:
        parser.error("--replication-factor must be at least 1")
    if args.wait is not None and args.wait <= 0:
        parser.error("--wait must be a positive number of seconds")
    return args


async def wait_for_topics(
    servers: str, topics: Sequence[Topic], *, within: float, interval: float = 2.0
) -> list[str]:
    """Poll the broker until every topic exists; the names still missing when time ran out."""
    deadline = time.monotonic() + within
    missing = [t.name for t in topics]
    while True:
        try:
            missing = await missing_topics(servers, topics)
        except Exception as exc:  # the broker not up yet is what an init container waits out
            logging.getLogger(__name__).info("broker not answering yet (%s)", type(exc).__name__)
        if not missing or time.monotonic() >= deadline:
            return missing
        await asyncio.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))


def _bootstrap_servers_from_env() -> str:
    # Not PlatformSettings(): with CRM_ENV=production it insists on the services' secrets, which
    # the Job and the init containers neither get nor need.
    default = PlatformSettings.model_fields["kafka_bootstrap_servers"].default
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or str(default)


def main(argv: Sequence[str] | None = None) -> int:
    """Create the missing topics, or list them with --list; 0 on success."""
    args = _arguments(argv)
    topics = declared_topics()
    if args.list:
        for topic in topics:
            print(f"{topic.name}\t{topic.partitions}")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    servers = args.bootstrap_servers or _bootstrap_servers_from_env()
    if args.wait is not None:
        missing = asyncio.run(wait_for_topics(servers, topics, within=args.wait))
        if missing:
            print(f"topics still missing after {args.wait:g}s: {', '.join(missing)}")
            return 1
        print(f"all {len(topics)} topics exist")
        return 0
    asyncio.run(ensure_topics(servers, topics, replication=args.replication_factor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
