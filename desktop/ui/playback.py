# SPDX-License-Identifier: GPL-3.0-or-later
"""Playing a video of the case: frames decoded off the GUI thread, the latest request wins.

A :class:`FrameSource` owns one :class:`desktop.ingest.player.Player` (a decoder child reading
the vault's blob) and one worker thread that talks to it. The GUI thread only posts what it wants
to see next (:meth:`FrameSource.want_index`, :meth:`FrameSource.want_time`); a request that was
not started yet is replaced by a newer one, so dragging the slider or holding the step key never
queues work behind the frame the analyst stopped on. Frames come back by queued signal as
``QImage`` (built on the worker thread; ``QPixmap`` is made on the GUI thread by the canvas).

Memory is bounded: the child's cache (:data:`desktop.ingest.player.CACHE_BYTES`), one frame in
flight, and the picture shown.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from desktop.ingest.frames import RenderError
from desktop.ingest.player import Frame, Player, VideoInfo


class FrameSource(QObject):
    """One video's decoder child and the thread that asks it for frames.

    Signals:
        opened: the child indexed the video; carries its :class:`VideoInfo`.
        frame_ready: a frame is decoded; carries ``(index, time_s, QImage)``.
        failed: the video cannot be played, or a frame could not be decoded; carries why.
    """

    opened = Signal(object)
    frame_ready = Signal(int, float, QImage)
    failed = Signal(str)

    def __init__(self, blob_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path = blob_path
        self._lock = threading.Condition()
        self._wanted: tuple[str, float] | None = None
        self._stopping = False
        self.info: VideoInfo | None = None
        self._thread = threading.Thread(target=self._run, name="video frames", daemon=True)
        self._thread.start()

    def want_index(self, index: int) -> None:
        """Decode frame ``index`` next (replacing a request not started yet)."""
        self._want(("index", float(index)))

    def want_time(self, time_s: float) -> None:
        """Decode the frame shown at ``time_s`` next (replacing a request not started yet)."""
        self._want(("time", float(time_s)))

    @property
    def busy(self) -> bool:
        """Whether a request is waiting to be started."""
        with self._lock:
            return self._wanted is not None

    def stop(self) -> None:
        """Stop the thread and the child; returns at once (the thread ends within one frame)."""
        with self._lock:
            self._stopping = True
            self._wanted = None
            self._lock.notify_all()

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Wait for the worker to end (tests, shutdown); True when it did."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _want(self, wanted: tuple[str, float]) -> None:
        with self._lock:
            if not self._stopping:
                self._wanted = wanted
                self._lock.notify_all()

    def _run(self) -> None:
        try:
            player = Player(self._path)
        except (RenderError, OSError) as exc:
            self._emit_failed(str(exc))
            return
        try:
            self.info = player.info
            self._emit_opened(player.info)
            while True:
                with self._lock:
                    while self._wanted is None and not self._stopping:
                        self._lock.wait()
                    if self._stopping:
                        return
                    kind, value = self._wanted  # type: ignore[misc]
                    self._wanted = None
                try:
                    frame = player.frame(int(value)) if kind == "index" else player.frame(time_s=value)
                except RenderError as exc:
                    self._emit_failed(str(exc))
                    if not player.alive:
                        return
                    continue
                self._emit_frame(frame)
        finally:
            player.close()

    # Emitting from the worker thread: the receivers live on the GUI thread, so Qt queues the
    # calls there. A source deleted meanwhile (another item shown) drops them.

    def _emit_opened(self, info: VideoInfo) -> None:
        if not self._stopping:
            self.opened.emit(info)

    def _emit_frame(self, frame: Frame) -> None:
        if self._stopping:
            return
        image = QImage(frame.rgb, frame.width, frame.height, frame.width * 3,
                       QImage.Format.Format_RGB888).copy()  # owns its pixels
        self.frame_ready.emit(frame.index, frame.time_s, image)

    def _emit_failed(self, why: str) -> None:
        if not self._stopping:
            self.failed.emit(why)
