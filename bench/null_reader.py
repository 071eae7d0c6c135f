"""Consumer (a) of the ingest benchmark: a pynsq reader that FINs every message, nothing else.

Its rate is the ceiling any pynsq consumer can reach on this machine. Settings come from the
SUBBUZZ_* environment (topic, channel, nsqd addresses); stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import nsq

from subbuzz.config import NsqSettings


def _finish(message: nsq.Message) -> bool:
    del message
    return True  # pynsq FINs a message whose handler returns True


async def _run(settings: NsqSettings, max_in_flight: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # pynsq captures the running loop: build the reader inside it.
    reader = nsq.Reader(
        topic=settings.topic,
        channel=settings.channel,
        nsqd_tcp_addresses=list(settings.nsqd_tcp_addresses),
        message_handler=_finish,
        max_in_flight=max_in_flight,
    )
    await stop.wait()
    reader.close()
    await asyncio.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-in-flight", type=int, default=2500)
    args = parser.parse_args()
    asyncio.run(_run(NsqSettings.from_env(), args.max_in_flight))


if __name__ == "__main__":
    main()
