"""``subbuzz simulate``: realistic contract-v1 traffic to nsqd and/or a JSON-lines file."""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from subbuzz.config import NsqSettings

from .model import TrafficModel, TrafficShape
from .pacing import Pacer
from .progress import ProgressLine
from .publisher import NsqdHttpPublisher, PublishError
from .run import epoch_ms, run

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="publish realistic, seeded engagement traffic to nsqd",
        description=(
            "Generate contract-v1 sub-buzz view events from a seed: Zipf-popular articles with "
            "5-60 sub-buzzes, views that decay with position, log-normal time in view, sessions "
            "of several views, users with several sessions and a share of anonymous readers. "
            "Events are stamped with the current time and published to nsqd's HTTP /mpub "
            "(SUBBUZZ_NSQD_HTTP_ADDRESS) on topic SUBBUZZ_TOPIC, and/or written as JSON lines. "
            "The same seed gives the same events and ids (only ts differs); a progress line and "
            "a summary go to stderr."
        ),
    )
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument(
        "-n", "--count", type=_positive_int, help="number of events (default 10000)"
    )
    amount.add_argument(
        "--duration", type=_positive_float, metavar="SECONDS", help="run for this many seconds"
    )
    parser.add_argument(
        "--rate",
        type=_positive_float,
        metavar="EVENTS_PER_S",
        help="target events per second (default: as fast as possible)",
    )
    parser.add_argument(
        "--seed", type=int, help="random seed (default: a fresh one, printed in the summary)"
    )
    parser.add_argument(
        "--articles",
        type=_positive_int,
        default=TrafficShape.articles,
        help=f"number of articles (default {TrafficShape.articles})",
    )
    parser.add_argument(
        "--anonymous-share",
        type=float,
        default=TrafficShape.anonymous_share,
        metavar="FRACTION",
        help=f"share of sessions without user_id (default {TrafficShape.anonymous_share})",
    )
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="also write the events as JSON lines"
    )
    parser.add_argument(
        "--no-publish", action="store_true", help="do not publish; write --output only"
    )
    parser.add_argument("--topic", help="nsqd topic (env SUBBUZZ_TOPIC, default subbuzz_views)")
    parser.add_argument(
        "--nsqd-http-address",
        metavar="HOST:PORT",
        help="nsqd HTTP address (env SUBBUZZ_NSQD_HTTP_ADDRESS, default the stack's nsqd)",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=500,
        help="events per /mpub request at most (default 500)",
    )
    parser.set_defaults(handler=_simulate)


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {raw}")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {raw}")
    return value


def _simulate(args: argparse.Namespace) -> int:
    if args.no_publish and args.output is None:
        print("subbuzz simulate: --no-publish needs --output FILE", file=sys.stderr)
        return 2
    count = args.count if args.count is not None or args.duration is not None else 10_000
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    try:
        shape = TrafficShape(articles=args.articles, anonymous_share=args.anonymous_share)
    except ValueError as exc:
        print(f"subbuzz simulate: {exc}", file=sys.stderr)
        return 2
    model = TrafficModel(seed, shape)
    pacer = Pacer(rate=args.rate, count=count, duration_s=args.duration, max_batch=args.batch_size)
    stopping = _StopFlag()
    with contextlib.ExitStack() as stack:
        publisher = None
        destination = "nowhere"
        if not args.no_publish:
            nsq = NsqSettings.from_env(topic=args.topic, nsqd_http_address=args.nsqd_http_address)
            publisher = stack.enter_context(NsqdHttpPublisher(nsq.nsqd_http_address, nsq.topic))
            destination = f"nsqd {nsq.nsqd_http_address} topic {nsq.topic}"
        output = None
        if args.output is not None:
            output = stack.enter_context(args.output.open("wb"))
            destination += f" + {args.output}" if publisher else f"{args.output}"
            destination = destination.removeprefix("nowhere")
        stack.enter_context(stopping.on_signals())
        try:
            result = run(
                model.events(epoch_ms),
                pacer,
                publisher=publisher,
                output=output,
                progress=ProgressLine(count),
                should_stop=stopping.is_set,
            )
        except PublishError as exc:
            print(f"subbuzz simulate: publishing failed: {exc}", file=sys.stderr)
            return 1
    print(
        f"simulated {result.summary()}; seed {seed}; sent to {destination}",
        file=sys.stderr,
    )
    return 0


class _StopFlag:
    """Ctrl-C / SIGTERM end the run after the current batch, so the summary stays honest."""

    def __init__(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    @contextlib.contextmanager
    def on_signals(self) -> Iterator[None]:
        def stop(signum: int, frame: object) -> None:
            del signum, frame
            self._set = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
