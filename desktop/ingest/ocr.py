# SPDX-License-Identifier: GPL-3.0-or-later
"""Text recognition on images and video frames, wrapping rapidocr with the models in its wheel.

Responsible for one thing: pixels in, text lines with boxes out. It never reads files, never decides
what is an indicator, and never touches the network: the model files are named explicitly from inside
the installed ``rapidocr`` package, so rapidocr's own download path (taken only when no model path is
configured) cannot run. Construction fails with ``RuntimeError`` if a bundled model is missing rather
than fetching one.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# Bundled with rapidocr 3.10.0; these names are what ``default_models.yaml`` routes the default
# PP-OCRv6 small det/rec and the PP-OCRv4 mobile classifier to (we never use the classifier).
_DET_MODEL = "PP-OCRv6_det_small.onnx"
_REC_MODEL = "PP-OCRv6_rec_small.onnx"
_CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"

RGBImage = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class OcrLine:
    """One line of text read from an image.

    Attributes:
        text: the recognised text, stripped.
        confidence: the recogniser's score, 0..1.
        box: ``(x, y, w, h)`` in pixels of the full image or frame the caller passed in (crop offsets
            already added), the axis-aligned hull of the detected quadrilateral.
    """

    text: str
    confidence: float
    box: tuple[int, int, int, int]

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable form."""
        return {"text": self.text, "confidence": round(self.confidence, 4), "box": list(self.box)}


@dataclass(frozen=True)
class LineReading:
    """One line recognised character by character: what consensus and first-seen times need.

    Attributes:
        text: the recognised text, stripped of outer white space.
        confidence: the mean of the character scores (the recogniser's line score).
        box: ``(x, y, w, h)`` of the band that was read, in full-frame pixels.
        char_conf: the score of each character of ``text``, 0..1.
        char_x: ``(x0, x1)`` of each character of ``text`` in full-frame pixels (from the CTC
            time steps: good to about half a character).
        char_alt: for each character of ``text``, the highest probability the recogniser gave a
            character it is confused with (``l`` for ``1``, ``O`` for ``0``: the classes of
            :mod:`desktop.core.confusables`) over the time steps that read it; 0.0 for a character
            of no class. How seriously the other glyph was considered; empty when not known.
    """

    text: str
    confidence: float
    box: tuple[int, int, int, int]
    char_conf: tuple[float, ...]
    char_x: tuple[tuple[int, int], ...]
    char_alt: tuple[float, ...] = ()

    def line(self) -> OcrLine:
        """The plain line (text, score, box)."""
        return OcrLine(self.text, self.confidence, self.box)


def bundled_model_dir() -> Path:
    """Returns the folder inside the installed rapidocr package that holds its ONNX models."""
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


class OcrEngine:
    """A loaded rapidocr pipeline configured for screens, reusable for many images.

    Not thread-safe: rapidocr keeps per-call switches (``use_det``...) as engine state, so one engine
    serves one thread. Create one per worker process; loading costs about a second.

    Args:
        threads: onnxruntime intra-op threads. Measured on 2 cores: 2 threads are 1.6-1.9x faster
            than 1; more than the core count only adds contention. The threads sleep between
            operators instead of spinning (``session.intra_op.allow_spinning = 0``): a spinning
            pool burns a core while it waits, which on a loaded machine cost 40-60 % more CPU
            for the same recognition (850x37 bands: 0.42 CPU s a band spinning, 0.26 not).
        det_limit_side_len: the detector scales an image's *longest* side down to this (never up).
            rapidocr's default scales the *shortest* side up to 736, which makes a thin strip cost
            almost a full frame (0.65 s vs 0.15 s for an 850x37 crop); 1280 keeps 720p frames at
            native size.
        min_confidence: lines scoring below this are dropped (rapidocr's own default is 0.5).
    """

    def __init__(self, *, threads: int = 2, det_limit_side_len: int = 1280,
                 min_confidence: float = 0.5) -> None:
        model_dir = bundled_model_dir()
        paths = {name: model_dir / name for name in (_DET_MODEL, _REC_MODEL, _CLS_MODEL)}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise RuntimeError(f"The OCR models shipped with rapidocr are missing: {', '.join(missing)}.")
        # rapidocr logs every call at INFO through its own handler; keep the worker's stderr for errors.
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        from rapidocr import RapidOCR

        self._min_confidence = min_confidence
        self._mates_cache: dict[int, list[int]] | None = None
        self._lock = threading.Lock()
        self._engine: Any = RapidOCR(params={
            "Global.log_level": "error",
            "Global.use_cls": False,  # screens are upright; the direction classifier is wasted time
            "Global.text_score": min_confidence,
            "Global.model_root_dir": str(model_dir),
            "Det.model_path": str(paths[_DET_MODEL]),
            "Rec.model_path": str(paths[_REC_MODEL]),
            "Cls.model_path": str(paths[_CLS_MODEL]),
            "Det.limit_type": "max",
            "Det.limit_side_len": det_limit_side_len,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })
        # rapidocr takes a ready session per model (``Det.session``; its own options cannot turn
        # spinning off); the models load from the same bundled paths
        from omegaconf import flag_override, open_dict

        cfg = self._engine.cfg
        with flag_override(cfg, "allow_objects", True), open_dict(cfg):
            cfg.Det.session = _session(paths[_DET_MODEL], threads)
            cfg.Rec.session = _session(paths[_REC_MODEL], threads)
        self._warm_up()

    def _warm_up(self) -> None:
        """Loads both models now, by reading a tiny synthetic image.

        rapidocr loads models lazily on first use, which would charge the first frame of every video
        ~1 s and make its timing meaningless.
        """
        canvas = np.full((64, 256, 3), 255, dtype=np.uint8)
        canvas[24:40, 16:240:8] = 0  # a dotted bar so the detector yields a box and rec runs too
        self._call(canvas, use_det=True)
        self._call(canvas[16:48], use_det=False)

    def _call(self, bgr: npt.NDArray[np.uint8], *, use_det: bool) -> Any:
        # Pass every switch on every call: rapidocr stores them on the engine, so a call that sets
        # use_det=False would silently turn detection off for all later calls.
        with self._lock:
            return self._engine(bgr, use_det=use_det, use_cls=False, use_rec=True)

    def read(self, image: RGBImage, *, offset: tuple[int, int] = (0, 0)) -> list[OcrLine]:
        """Detects and recognises every text line in an image.

        Args:
            image: an RGB ``uint8`` array (H, W, 3); a crop of a frame is fine.
            offset: ``(x, y)`` of the crop in the full frame, added to every box.

        Returns:
            Lines in reading order (top to bottom, then left to right).
        """
        bgr = _to_bgr(image)
        if bgr is None:
            return []
        result = self._call(bgr, use_det=True)
        lines = []
        boxes = getattr(result, "boxes", None)
        txts = getattr(result, "txts", None)
        scores = getattr(result, "scores", None)
        if boxes is None or txts is None or scores is None:
            return []
        for quad, text, score in zip(boxes, txts, scores, strict=False):
            line = self._line(text, score, _hull(quad, offset))
            if line is not None:
                lines.append(line)
        lines.sort(key=lambda ln: (ln.box[1] + ln.box[3] // 2, ln.box[0]))
        return lines

    def detect(self, image: RGBImage, *, offset: tuple[int, int] = (0, 0)) -> list[tuple[int, int, int, int]]:
        """Finds the text lines of an image without reading them: ``(x, y, w, h)`` boxes, offset added.

        The caller reads them with :meth:`read_lines`, which gives character scores and positions.
        """
        bgr = _to_bgr(image)
        if bgr is None:
            return []
        with self._lock:
            result = self._engine(bgr, use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(result, "boxes", None)
        if boxes is None:
            return []
        hulls = [_hull(quad, offset) for quad in boxes]
        return sorted((b for b in hulls if b[2] > 2 and b[3] > 2), key=lambda b: (b[1] + b[3] // 2, b[0]))

    def read_line(self, band: RGBImage, *, offset: tuple[int, int] = (0, 0)) -> OcrLine | None:
        """Recognises a band already known to hold exactly one line of text, skipping detection.

        Recognition alone costs about 0.04 s for an 850x37 band against 0.15-0.65 s with detection;
        the caller is responsible for the band holding one line (a band with two lines reads as
        garbage or as one of them).

        Args:
            band: an RGB ``uint8`` array (H, W, 3) cropped tightly around one line plus a small margin.
            offset: ``(x, y)`` of the band in the full frame; the box returned is the whole band.

        Returns:
            The line, or None if nothing legible scored above ``min_confidence``.
        """
        bgr = _to_bgr(band)
        if bgr is None:
            return None
        result = self._call(bgr, use_det=False)
        txts = getattr(result, "txts", None)
        scores = getattr(result, "scores", None)
        if not txts or scores is None:
            return None
        h, w = band.shape[:2]
        return self._line(txts[0], scores[0], (offset[0], offset[1], w, h))

    def read_lines(self, bands: list[RGBImage], offsets: list[tuple[int, int]],
                   margins: list[tuple[int, int]] | None = None) -> list[LineReading | None]:
        """Recognises many single-line bands in batches, with a score and position per character.

        Batching is what makes reading every changed line of a busy screen affordable: the
        recogniser's fixed cost per call is paid once per batch of up to eight bands of similar
        shape instead of once per line.

        Args:
            bands: RGB ``uint8`` arrays, one line each (with its margin).
            offsets: ``(x, y)`` of each band's content in the full frame.
            margins: ``(left, top)`` padding added around each band's content, subtracted from
                character positions so that they are in frame pixels.

        Returns:
            One reading per band, None where nothing scored above ``min_confidence``.
        """
        rec = self._engine.text_rec
        out: list[LineReading | None] = [None] * len(bands)
        items = [(i, _to_bgr(b)) for i, b in enumerate(bands)]
        ready = [(i, b) for i, b in items if b is not None]
        ready.sort(key=lambda ib: ib[1].shape[1] / ib[1].shape[0])
        height = int(rec.rec_image_shape[1])
        chars: list[str] = rec.postprocess_op.character
        # Every band of a batch is padded to the widest one: batch only bands of similar shape.
        batches: list[list[tuple[int, npt.NDArray[np.uint8]]]] = []
        for index, bgr in ready:
            ratio = bgr.shape[1] / bgr.shape[0]
            if batches and len(batches[-1]) < 8 and ratio <= 1.25 * (batches[-1][0][1].shape[1]
                                                                    / batches[-1][0][1].shape[0]) + 1:
                batches[-1].append((index, bgr))
            else:
                batches.append([(index, bgr)])
        for batch in batches:
            ratio = max(max(b.shape[1] / b.shape[0] for _, b in batch), rec.rec_image_shape[2] / height)
            tensor = np.concatenate([rec.resize_norm_img(b, ratio)[np.newaxis] for _, b in batch]).astype(
                np.float32)
            with self._lock:
                preds = np.asarray(rec.session(tensor))
            steps = preds.shape[1]
            padded_w = height * ratio
            for row, (index, bgr) in enumerate(batch):
                h, w = bgr.shape[:2]
                resized_w = min(padded_w, math.ceil(height * w / h))
                scale = (padded_w / steps) * (w / resized_w)  # band pixels per time step
                left, _top = margins[index] if margins else (0, 0)
                out[index] = self._decode(preds[row], chars, scale, left, offsets[index], (w, h))
        return out

    def _decode(self, pred: npt.NDArray[np.float32], chars: list[str], scale: float, left: int,
                offset: tuple[int, int], size: tuple[int, int]) -> LineReading | None:
        ids = pred.argmax(axis=1)
        probs = pred.max(axis=1)
        keep = np.ones(len(ids), dtype=bool)
        keep[1:] = ids[1:] != ids[:-1]
        keep &= ids != 0  # the CTC blank
        steps = np.flatnonzero(keep)
        text = "".join(chars[int(ids[j])] for j in steps)
        if not text.strip():
            return None
        confs = [float(probs[j]) for j in steps]
        mates = self._mates(chars)
        alts = []
        for j in steps:
            rivals = mates.get(int(ids[j]))
            if not rivals:
                alts.append(0.0)
                continue
            end = j + 1
            while end < len(ids) and ids[end] == ids[j]:
                end += 1
            alts.append(float(pred[j:end][:, rivals].max()))
        centres = [(j + 0.5) * scale - left for j in steps]
        bounds = []
        for k, c in enumerate(centres):
            lo = (centres[k - 1] + c) / 2 if k > 0 else c - scale * 1.5
            hi = (centres[k + 1] + c) / 2 if k + 1 < len(centres) else c + scale * 1.5
            bounds.append((int(offset[0] + max(0.0, lo)), int(offset[0] + max(0.0, hi))))
        lead = len(text) - len(text.lstrip())
        trail = len(text.rstrip())
        text, confs, bounds = text[lead:trail], confs[lead:trail], bounds[lead:trail]
        alts = alts[lead:trail]
        confidence = float(np.mean(confs))
        if confidence < self._min_confidence:
            return None
        w, h = size
        return LineReading(text, confidence, (offset[0], offset[1], w, h), tuple(confs), tuple(bounds),
                           tuple(alts))

    def _mates(self, chars: list[str]) -> dict[int, list[int]]:
        """For each vocabulary index of a confusable character, the indexes of its class-mates."""
        if self._mates_cache is not None:
            return self._mates_cache
        from desktop.core.confusables import CLASSES

        index = {ch: i for i, ch in enumerate(chars)}
        mates: dict[int, list[int]] = {}
        for cls in CLASSES:
            present = [index[ch] for ch in cls if ch in index]
            for i in present:
                others = [k for k in present if k != i]
                if others:
                    mates[i] = others
        self._mates_cache = mates
        return mates

    def _line(self, text: object, score: object, box: tuple[int, int, int, int]) -> OcrLine | None:
        cleaned = str(text).strip()
        try:
            confidence = float(score)  # type: ignore[arg-type]  # numpy scalar or float, per version
        except (TypeError, ValueError):
            return None
        if not cleaned or confidence < self._min_confidence:
            return None
        return OcrLine(cleaned, confidence, box)


def _session(model: Path, threads: int) -> Any:
    """An onnxruntime session on the CPU whose worker threads sleep while they wait (no spinning)."""
    import onnxruntime as ort  # type: ignore[import-untyped]  # no py.typed in the wheel

    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.enable_cpu_mem_arena = False
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    cpu = ("CPUExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"})
    return ort.InferenceSession(str(model), sess_options=options, providers=[cpu])


def _to_bgr(image: RGBImage) -> npt.NDArray[np.uint8] | None:
    """Returns a contiguous BGR copy, or None if the image is too small to hold text.

    rapidocr passes 3-channel arrays straight to OpenCV code that assumes BGR.
    """
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] < 3:
        raise ValueError(f"Expected an RGB image of shape (H, W, 3), got shape {image.shape}.")
    if image.shape[0] < 4 or image.shape[1] < 4:
        return None
    return np.ascontiguousarray(image[:, :, 2::-1], dtype=np.uint8)


def _hull(quad: Any, offset: tuple[int, int]) -> tuple[int, int, int, int]:
    """Axis-aligned ``(x, y, w, h)`` around rapidocr's 4-point box, shifted by the crop offset."""
    pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    x0, y0 = np.floor(pts.min(axis=0))
    x1, y1 = np.ceil(pts.max(axis=0))
    x0, y0 = max(0.0, x0), max(0.0, y0)
    return int(x0) + offset[0], int(y0) + offset[1], int(x1 - x0), int(y1 - y0)
