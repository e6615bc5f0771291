"""Chain work for one channel, one job after another, so T1 always leaves before T3(0) or T2;
and polls that run beside the clock, never more than one of a kind at a time."""

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


class OnlyOne:
    """A poll started from the clock: it runs beside the clock (a slow chain API must not stop
    payments), and a new one starts only once the last has finished."""

    def __init__(self):
        self.task = None

    def start(self, make_coroutine):
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(make_coroutine())
