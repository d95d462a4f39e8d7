"""Create every topic the platform declares (crm_shared.wiring), with its partitions: a CLI.

    python -m crm_shared.messaging.create_topics [--bootstrap-servers H:P,...]
        [--replication-factor N] [--list]

The Kubernetes Job `crm-create-topics` runs it before the services (which would otherwise create
missing topics with one replica); existing topics are left alone, so running it again is safe.
The bootstrap servers default to KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from crm_shared.messaging.kafka import ensure_topics
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
    args = parser.parse_args(argv)
    if args.replication_factor < 1:
        parser.error("--replication-factor must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Create the missing topics, or list them with --list; 0 on success."""
    args = _arguments(argv)
    topics = declared_topics()
    if args.list:
        for topic in topics:
            print(f"{topic.name}\t{topic.partitions}")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    servers = args.bootstrap_servers or PlatformSettings().kafka_bootstrap_servers
    asyncio.run(ensure_topics(servers, topics, replication=args.replication_factor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
