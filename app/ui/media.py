"""Local media for a broadcast: camera with microphone, a screen, or a local video file."""

import asyncio

import js
from pyodide.ffi import create_proxy

from app.ui.dom import by_id, js_object


class MediaError(Exception):
    pass


async def camera():
    try:
        return await js.navigator.mediaDevices.getUserMedia(js_object({"video": True, "audio": True}))
    except Exception as error:  # noqa: BLE001
        raise MediaError(f"The camera could not be opened: {error}")


async def screen():
    try:
        return await js.navigator.mediaDevices.getDisplayMedia(js_object({"video": True, "audio": True}))
    except Exception as error:  # noqa: BLE001
        raise MediaError(f"Screen sharing was not started: {error}")


async def from_file(file, video_id):
    """Play `file` in the <video> `video_id` (looping) and capture it as a stream."""
    if file is None:
        raise MediaError("Choose a video file first.")
    video = by_id(video_id)
    video.srcObject = None
    video.src = js.URL.createObjectURL(file)
    video.loop = True
    video.muted = True
    try:
        await video.play()
    except Exception as error:  # noqa: BLE001
        raise MediaError(f"This file cannot be played here: {error}")
    capture = getattr(video, "captureStream", None) or getattr(video, "mozCaptureStream", None)
    if capture is None:
        raise MediaError("This browser cannot stream a file (no captureStream).")
    for _ in range(50):
        stream = video.captureStream()
        if stream.getVideoTracks().length:
            return stream
        await asyncio.sleep(0.1)
    raise MediaError("The file has no video track.")


async def open_source(source, files, video_id):
    """The stream of the chosen source: "camera", "screen", or "file" (the first of `files`)."""
    if source == "screen":
        return await screen()
    if source == "file":
        return await from_file(files.item(0) if files.length else None, video_id)
    return await camera()


def preview(video_id, stream):
    video = by_id(video_id)
    video.muted = True
    video.srcObject = stream
    promise = video.play()
    if promise is not None:
        promise.catch(create_proxy(lambda *_: None))


def stop(stream):
    if stream is not None:
        for track in stream.getTracks():
            track.stop()
