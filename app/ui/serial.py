"""Chain work for one channel, one job after another, so T1 always leaves before T3(0) or T2."""

import asyncio


class SerialQueue:
    def __init__(self):
        self.last = None

    def run(self, coroutine):
        """Start `coroutine` once every earlier job has finished (failed ones included)."""
        previous = self.last

        async def job():
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await coroutine

        self.last = asyncio.ensure_future(job())
