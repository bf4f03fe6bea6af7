"""The product's alpha matte, computed on the CPU with no downloaded weights.

GrabCut segments a reduced copy of the photo (384 px), seeded by how far each pixel's colour is from
the backdrop's (the corner colours and the border pixels that match them: a tightly cropped product
may touch the border, rarely a corner) and by a centre prior. The largest component is kept and its
holes filled, unless a hole shows the backdrop again (a mug's handle). The photo is read three ways:
so seeded, boxed to the area whose colours stand out, and boxed to the whole frame (a tightly cropped
product fills the corners); of the readings that look like one clear product, the one that seems to
leave the least of the product outside its outline is kept, and GrabCut reads the photo once more
starting from it (its colour models learn from a good outline). A colour guided filter then refines the
edge at full size (up to 2048 px), which gives a soft matte.
The owner can correct it: a mask, a rectangle, or keep/remove strokes that re-run GrabCut.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

WORK_LONG_SIDE = 384
REFINE_MAX_LONG_SIDE = 2048
BORDER_FRACTION = 0.03
BACKGROUND_CLUSTERS = 5
PRODUCT_COLOURS = 8  # colour clusters of a cut-out, to tell its colours from the backdrop's
GRABCUT_ITERATIONS = 3
LAB_WEIGHTS = np.array([0.6, 1.0, 1.0], np.float32)  # a shadow or a lighting gradient changes lightness more than colour
CORNER_FRACTION = 0.06
CORNER_CLUSTERS = 4
CORNER_MATCH = 12.0  # Lab units: a border pixel this close to a corner's colour is background
MIN_PRODUCT_FRACTION = 0.01
MAX_PRODUCT_FRACTION = 0.9
# A region is no clear product when it is both ragged and barely more unlike the border's colours
# than the background is (set on the reject photos of generation/real_photos and sklearn's china.jpg).
MIN_SOLIDITY = 0.9
MIN_CONTRAST = 1.4
MIN_COLOUR_SEPARATION = 12.0  # Lab units between the product and the border's colours
HOLE_BACKGROUND_DISTANCE = 10.0
BACKGROUND_LIKE = 6.0  # Lab units from the background's colours: inside an owner's rectangle, likely backdrop
ALPHA_CLIP = 0.02
MIN_TRANSPARENT_SHARE = 0.05  # an alpha channel is a cut-out when this much of the picture is transparent
MIN_TRANSPARENT_BORDER = 0.3  # ... and this much of its border
LEFT_OUTSIDE_WEIGHT = 0.5  # set on split=test of generation/real_photos
FRAME_INSET = 0.02  # of the short side: the margin a framed last pass treats as backdrop
READING_THREADS = 2
ASK_FOR_HELP = "upload a cut-out or mark the product"


class NoClearProduct(ValueError):
    """The photo shows no single clear product; the message asks the owner to mark it."""


@dataclass(frozen=True, eq=False)
class Cutout:
    alpha: np.ndarray  # (H, W) float32 in [0, 1] at the photo's size
    source: str  # "alpha-channel" | "segmenter" | "owner-mask" | "owner-rectangle" | "owner-strokes"


Point = tuple[float, float]
Stroke = Sequence[Point]


def cut_out(photo: Image.Image, *, rectangle: tuple[int, int, int, int] | None = None,
            keep: Sequence[Stroke] | None = None, remove: Sequence[Stroke] | None = None) -> Cutout:
    """The product's matte; the owner's rectangle or strokes, when given, steer the segmenter."""
    corrected = rectangle is not None or bool(keep) or bool(remove)
    if photo.mode == "RGBA" and not corrected:
        alpha = np.asarray(photo.getchannel("A"), dtype=np.float32) / 255
        if is_cut_out(alpha):
            return Cutout(alpha=alpha, source="alpha-channel")
    rgb = np.asarray(photo.convert("RGB"))
    if corrected:
        mask = _segment(rgb, rectangle=rectangle, keep=keep or [], remove=remove or []).full
        if not mask.any():
            raise NoClearProduct(f"Nothing was left inside the marks; {ASK_FOR_HELP} again with a larger area.")
        source = "owner-strokes" if keep or remove else "owner-rectangle"
        return Cutout(alpha=refine_edge(rgb, mask), source=source)
    return Cutout(alpha=refine_edge(rgb, _automatic_mask(rgb)), source="segmenter")


def _automatic_mask(rgb: np.ndarray, work_long_side: int = WORK_LONG_SIDE) -> np.ndarray:
    """The segmenter's mask. GrabCut reads the photo three ways: seeded from the corners; boxed like an
    owner's rectangle around the area whose colours stand out from the backdrop (a scarf's medallion or
    a vase's neck can mislead the corners' reading); and boxed to the whole frame less a thin margin (a
    tightly cropped product reaches into the corners, whose colours then can't be trusted as backdrop).
    Of the readings that look like one clear product, the one that seems to leave the least of the
    product outside its outline wins, and GrabCut reads the photo once more from it."""
    height, width = rgb.shape[:2]
    inset = max(1, round(FRAME_INSET * min(height, width)))
    working = _working_copy(rgb, work_long_side)
    boxes = {"corners": None, "salient": working.salient_box, "framed": (inset, inset, width - inset, height - inset)}
    if boxes["salient"] is None:  # nothing stands out from the backdrop
        del boxes["salient"]
    # GrabCut releases the GIL, so the readings share the cores
    with ThreadPoolExecutor(max_workers=READING_THREADS) as pool:
        readings = dict(zip(boxes, pool.map(lambda box: _segment(rgb, rectangle=box, keep=[], remove=[],
                                                                   working=working), boxes.values())))
    clear = [reading for name, reading in readings.items() if _is_clear_product(reading)
             # the frame gave no contrast at the corners to trust, so only a compact shape is taken
             and (name != "framed" or _solidity(reading.small) >= MIN_SOLIDITY)]
    if not clear:
        raise _refusal(readings["corners"])  # the corners' reading says why, in words an owner can act on
    return _read_again_from(min(clear, key=_product_left_outside_the_outline), working, rgb.shape[:2])


def _read_again_from(reading: "_Segmentation", working: "_WorkingCopy", size: tuple[int, int]) -> np.ndarray:
    """GrabCut once more, starting from the chosen reading: its colour models now learn from a good
    outline rather than from the first seeds, which wins back the product's edges in shade and its
    parts near the frame. Only its core stays sure product and only the backdrop's samples away from
    it sure backdrop."""
    product = reading.small.astype(np.uint8)
    near = cv2.dilate(product, np.ones((5, 5), np.uint8), iterations=3).astype(bool)
    labels = np.where(reading.small, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[cv2.erode(product, np.ones((5, 5), np.uint8), iterations=2).astype(bool)] = cv2.GC_FGD
    labels[working.samples & ~near] = cv2.GC_BGD
    return _product_from(labels, working, size)[0]


def _product_left_outside_the_outline(reading: "_Segmentation") -> float:
    """How much of the product a reading seems to leave out: colours like its own just outside its
    outline, and (weighted down, as it also counts a stand or a shadow) area that stands out from the
    backdrop and touches it."""
    return (ring_like_product(reading.photo, reading.small, samples=reading.samples)
            + LEFT_OUTSIDE_WEIGHT * product_left_outside(reading.photo, reading.small, distance=reading.distance))


def _is_clear_product(segmentation: "_Segmentation") -> bool:
    return _refusal(segmentation) is None


def _refusal(segmentation: "_Segmentation") -> NoClearProduct | None:
    try:
        _check_clear_product(segmentation)
    except NoClearProduct as refusal:
        return refusal
    return None


def is_cut_out(alpha: np.ndarray) -> bool:
    """Whether an alpha channel is a product's cut-out: transparent around the product (most of the
    border and some of the picture), not a photo with a few transparent pixels such as rounded corners."""
    transparent = alpha < 0.5
    border = np.concatenate([transparent[0], transparent[-1], transparent[:, 0], transparent[:, -1]])
    return bool(transparent.mean() >= MIN_TRANSPARENT_SHARE and border.mean() >= MIN_TRANSPARENT_BORDER)


def cutout_from_mask(photo: Image.Image, mask: Image.Image) -> Cutout:
    """The owner's mask (L: white = product) or alpha PNG (its alpha channel) as the cut-out."""
    if mask.size != photo.size:
        raise ValueError(f"The mask is {mask.size[0]}×{mask.size[1]} px but the photo is "
                         f"{photo.size[0]}×{photo.size[1]} px; upload a mask of the photo's size.")
    if mask.mode in ("RGBA", "LA", "PA") or (mask.mode == "P" and "transparency" in mask.info):
        channel = mask.convert("RGBA").getchannel("A")
        if np.asarray(channel).min() == 255:  # opaque: the picture itself is the mask
            channel = mask.convert("L")
    else:
        channel = mask.convert("L")
    alpha = np.asarray(channel, dtype=np.float32) / 255
    if alpha.max() < 0.5:
        raise ValueError("The mask marks no product (it is black or transparent everywhere); "
                         "paint the product white on black, or upload a PNG whose alpha channel is the product.")
    return Cutout(alpha=alpha, source="owner-mask")


# --- segmentation at the working size ---------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _WorkingCopy:
    """The reduced photo and what every reading of it shares: where it surely shows the backdrop and
    how far each pixel's colour is from the backdrop's."""
    photo: np.ndarray  # RGB at the working size
    scale: float  # working size over the photo's
    samples: np.ndarray  # bool: where the photo surely shows the backdrop
    distance: np.ndarray  # colour distance to the backdrop
    salient_box: tuple[int, int, int, int] | None  # photo pixels: where colours stand out from the backdrop


@dataclass(frozen=True, eq=False)
class _Segmentation:
    full: np.ndarray  # bool, the photo's size
    small: np.ndarray  # bool, the working size
    photo: np.ndarray  # RGB at the working size
    samples: np.ndarray  # bool, the working size: where the photo surely shows the backdrop
    distance: np.ndarray  # colour distance to the background at the working size


def _working_copy(rgb: np.ndarray, work_long_side: int) -> _WorkingCopy:
    height, width = rgb.shape[:2]
    scale = min(1.0, work_long_side / max(height, width))
    small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    lab = _lab(small)
    samples = background_samples(lab)
    distance = background_distance(lab, samples)
    return _WorkingCopy(photo=small, scale=scale, samples=samples, distance=distance,
                        salient_box=_salient_box(distance, 1 / scale))


def _segment(rgb: np.ndarray, *, rectangle, keep, remove, work_long_side: int = WORK_LONG_SIDE,
             working: _WorkingCopy | None = None) -> _Segmentation:
    """GrabCut at the working size from the seeds (and the owner's marks), then the main component."""
    height, width = rgb.shape[:2]
    working = working or _working_copy(rgb, work_long_side)
    small, scale, samples, distance = working.photo, working.scale, working.samples, working.distance
    labels = _seed_labels(samples, distance, rectangle=_scaled_rectangle(rectangle, scale, small.shape))
    _draw_strokes(labels, keep, cv2.GC_FGD, scale)
    _draw_strokes(labels, remove, cv2.GC_BGD, scale)
    full, product = _product_from(labels, working, (height, width))
    return _Segmentation(full=full, small=product, photo=small, samples=samples, distance=distance)


def _product_from(labels: np.ndarray, working: _WorkingCopy, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """GrabCut from seed labels, then the main component with its holes filled: the mask at the photo's
    size and at the working size."""
    product = _fill_holes(_main_component(_grabcut(working.photo, labels), labels == cv2.GC_FGD), working.distance)
    full = cv2.resize(product.astype(np.uint8), size[::-1], interpolation=cv2.INTER_NEAREST).astype(bool)
    return full, product


def _salient_box(distance: np.ndarray, to_photo: float) -> tuple[int, int, int, int] | None:
    """The box (photo pixels) around the pixels whose colours stand out from the backdrop, as the
    seeds see them, from their 2nd to 98th percentile and a 3 % margin; None if there are too few."""
    blurred = cv2.GaussianBlur(distance, (0, 0), 1.0)
    threshold = max(_otsu(blurred), MIN_COLOUR_SEPARATION)
    likely = (blurred * (0.5 + 0.5 * _centre_prior(distance.shape)) > threshold).astype(np.uint8)
    ys, xs = np.nonzero(cv2.morphologyEx(likely, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)))
    if len(xs) < 20:
        return None
    height, width = distance.shape
    pad = 0.03 * max(height, width)
    (x0, x1), (y0, y1) = np.percentile(xs, [2, 98]), np.percentile(ys, [2, 98])
    return (int(max(0, x0 - pad) * to_photo), int(max(0, y0 - pad) * to_photo),
            int(min(width, x1 + pad) * to_photo), int(min(height, y1 + pad) * to_photo))


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)


def _border_band(shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    band = max(2, round(BORDER_FRACTION * min(height, width)))
    border = np.ones((height, width), bool)
    border[band:-band, band:-band] = False
    return border


def _corners(shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    side = max(3, round(CORNER_FRACTION * min(height, width)))
    corners = np.zeros((height, width), bool)
    for rows in (np.s_[:side], np.s_[-side:]):
        for columns in (np.s_[:side], np.s_[-side:]):
            corners[rows, columns] = True
    return corners


def _colour_centres(samples: np.ndarray, clusters: int) -> np.ndarray:
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(19)
    _, _, centres = cv2.kmeans(samples.astype(np.float32), min(clusters, len(samples)), None, criteria, 2,
                               cv2.KMEANS_PP_CENTERS)
    return centres


def _nearest_distance(lab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    pixels = (lab * LAB_WEIGHTS).reshape(-1, 1, 3)
    return np.sqrt(((pixels - centres[None]) ** 2).sum(-1)).min(1).reshape(lab.shape[:2]).astype(np.float32)


def background_samples(lab: np.ndarray) -> np.ndarray:
    """Where the photo surely shows background: its corners, and the border pixels whose colour
    matches a corner's (a tightly cropped product may touch the border, rarely a corner)."""
    corners = _corners(lab.shape[:2])
    corner_distance = _nearest_distance(lab, _colour_centres(lab[corners] * LAB_WEIGHTS, CORNER_CLUSTERS))
    return corners | (_border_band(lab.shape[:2]) & (corner_distance < CORNER_MATCH))


def background_distance(lab: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Per pixel, the Lab distance to the nearest of the background samples' main colours."""
    return _nearest_distance(lab, _colour_centres(lab[samples] * LAB_WEIGHTS, BACKGROUND_CLUSTERS))


def _centre_prior(shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.exp(-(((xs / width - 0.5) / 0.35) ** 2 + ((ys / height - 0.5) / 0.35) ** 2) / 2)


def _seed_labels(samples: np.ndarray, distance: np.ndarray, *, rectangle) -> np.ndarray:
    distance = cv2.GaussianBlur(distance, (0, 0), 1.0)
    threshold = max(_otsu(distance), MIN_COLOUR_SEPARATION)
    likely = distance * (0.5 + 0.5 * _centre_prior(distance.shape)) > threshold
    labels = np.where(likely, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    if rectangle is None:
        labels[samples] = cv2.GC_BGD
    else:
        x0, y0, x1, y1 = rectangle
        inside = np.zeros_like(labels, dtype=bool)
        inside[y0:y1, x0:x1] = True
        labels[~inside] = cv2.GC_BGD  # GrabCut's own start: what the owner boxed may be product,
        labels[inside] = np.where(distance[inside] < BACKGROUND_LIKE, cv2.GC_PR_BGD, cv2.GC_PR_FGD)  # bar the backdrop's colours
    return labels


def _otsu(values: np.ndarray) -> float:
    top = float(values.max()) or 1.0
    scaled = np.clip(values / top * 255, 0, 255).astype(np.uint8)
    threshold, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return threshold / 255 * top


def _scaled_rectangle(rectangle, scale: float, shape) -> tuple[int, int, int, int] | None:
    if rectangle is None:
        return None
    x0, y0, x1, y1 = (float(value) * scale for value in rectangle)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    height, width = shape[:2]
    box = (max(0, int(x0)), max(0, int(y0)), min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1))))
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        raise NoClearProduct(f"The rectangle {tuple(rectangle)} is empty or outside the photo; {ASK_FOR_HELP} "
                             "with a rectangle around the whole product.")
    return box


def _draw_strokes(labels: np.ndarray, strokes, value: int, scale: float) -> None:
    thickness = max(3, round(min(labels.shape) / 60))
    for stroke in strokes:
        points = np.round(np.asarray(stroke, dtype=np.float64).reshape(-1, 2) * scale).astype(np.int32)
        if len(points) == 1:
            cv2.circle(labels, tuple(int(v) for v in points[0]), thickness, value, -1)
        elif len(points):
            cv2.polylines(labels, [points.reshape(-1, 1, 2)], False, value, thickness)


def _grabcut(rgb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    fixed = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if fixed.all() or not fixed.any():
        return fixed
    mask = labels.copy()
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(19)  # GrabCut's colour models start from k-means: the same photo gives the same cut-out
    cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), mask, None, background, foreground, GRABCUT_ITERATIONS,
                cv2.GC_INIT_WITH_MASK)
    return np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))


def _main_component(mask: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The largest component, and any component an owner's keep stroke touches."""
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, components, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    if count <= 1:
        return np.zeros_like(mask)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    chosen = {largest} | set(np.unique(components[kept & (components > 0)]).tolist())
    return np.isin(components, list(chosen))


def _fill_holes(mask: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Fill the holes that don't show the background's colours (those are the product's own)."""
    inverse = (~mask).astype(np.uint8)
    count, components = cv2.connectedComponents(inverse, connectivity=4)
    border_labels = set(np.unique(np.concatenate([components[0], components[-1], components[:, 0], components[:, -1]])).tolist())
    filled = mask.copy()
    for label in range(1, count):
        if label in border_labels:
            continue
        hole = components == label
        if np.median(distance[hole]) > HOLE_BACKGROUND_DISTANCE:
            filled |= hole
    return filled


# --- is there one clear product? ---------------------------------------------------------------

def _check_clear_product(segmentation: "_Segmentation") -> None:
    """Refuse what isn't one product on a background: nothing found, everything found, or a ragged
    region that stands out from the border's colours no more than the background itself does (a
    building in a landscape, a crowd, a screenshot)."""
    product, distance = segmentation.small, segmentation.distance
    fraction = float(product.mean())
    if fraction < MIN_PRODUCT_FRACTION:
        raise NoClearProduct(f"No product stands out from the background; {ASK_FOR_HELP}.")
    if fraction > MAX_PRODUCT_FRACTION:
        raise NoClearProduct(f"The product seems to fill the whole photo, so there is no background to replace; {ASK_FOR_HELP}.")
    contrast = float(np.median(distance[product]) / (np.percentile(distance[~product], 90) + 1))
    if _solidity(product) < MIN_SOLIDITY and contrast < MIN_CONTRAST:
        raise NoClearProduct(f"The photo looks like a scene, not one product on a plain background; {ASK_FOR_HELP}.")


def _solidity(mask: np.ndarray) -> float:
    """The region's area over its convex hull's: near 1 for a vase or a plate, low for a skyline."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return 0.0
    area = sum(cv2.contourArea(contour) for contour in contours)
    hull = cv2.contourArea(cv2.convexHull(np.concatenate(contours)))
    return area / hull if hull else 0.0


def product_left_outside(rgb: np.ndarray, mask: np.ndarray, *, distance: np.ndarray | None = None) -> float:
    """Area whose colours stand out from the backdrop (as the segmenter's seeds see it), touching the
    cut-out but left out of it, over the cut-out's area: the rest of a plate cut in half. `distance`:
    the seeds' colour distance to the backdrop, when the segmenter has it already."""
    if not mask.any():
        return 1.0
    if distance is None:
        lab = _lab(rgb)
        distance = background_distance(lab, background_samples(lab))
    distance = cv2.GaussianBlur(distance, (0, 0), 1.0)
    stands_out = distance > max(_otsu(distance), MIN_COLOUR_SEPARATION)
    left_out = (stands_out & ~mask).astype(np.uint8)
    count, components = cv2.connectedComponents(left_out, connectivity=8)
    beside = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    touching = np.unique(components[beside & left_out.astype(bool)])
    touching = touching[touching > 0]
    return float(np.isin(components, touching).sum() / mask.sum())


def ring_like_product(rgb: np.ndarray, mask: np.ndarray, *, samples: np.ndarray | None = None) -> float:
    """Share of a thin ring just outside the cut-out whose colours are nearer the cut-out's own
    colours than the backdrop's (the corners and the border that matches them): where the ring is
    still product, the outline cut through it (a scarf cut out in part, the other half of a plate).
    `samples`: the backdrop's samples, when the segmenter has them already."""
    if not mask.any() or mask.all():
        return 1.0
    lab = _lab(rgb)
    hard = mask.astype(np.uint8)
    width = max(2, round(max(mask.shape) / 96))
    ring = (cv2.dilate(hard, np.ones((2 * width + 1,) * 2, np.uint8)) > 0) & ~mask
    core = cv2.erode(hard, np.ones((3, 3), np.uint8)).astype(bool)
    backdrop = (background_samples(lab) if samples is None else samples) & ~mask
    if not ring.any() or core.sum() < PRODUCT_COLOURS or backdrop.sum() < BACKGROUND_CLUSTERS:
        return 1.0
    near_product = _nearest_distance(lab[ring][None], _colour_centres(_subsample(lab[core] * LAB_WEIGHTS), PRODUCT_COLOURS))
    near_backdrop = _nearest_distance(lab[ring][None], _colour_centres(_subsample(lab[backdrop] * LAB_WEIGHTS), BACKGROUND_CLUSTERS))
    return float((near_product < near_backdrop).mean())


def _subsample(samples: np.ndarray, most: int = 20000) -> np.ndarray:
    """At most `most` samples, evenly spread: k-means on a fixed subsample, same photo, same answer."""
    return samples if len(samples) <= most else samples[np.linspace(0, len(samples) - 1, most).astype(int)]



# --- soft edge at full size --------------------------------------------------------------------

def refine_edge(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A soft matte from a hard mask: a guided filter on a band around the mask's edge."""
    height, width = mask.shape
    scale = min(1.0, REFINE_MAX_LONG_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    guide = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    hard = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    radius = max(2, round(max(size) / 256))
    hard = cv2.GaussianBlur(hard, (0, 0), radius / 2)
    soft = guided_filter(guide.astype(np.float32) / 255, hard, radius=radius, eps=1e-3)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    binary = (hard > 0.5).astype(np.uint8)
    band = cv2.dilate(binary, kernel).astype(bool) & ~cv2.erode(binary, kernel).astype(bool)
    alpha = np.where(band, np.clip(soft, 0, 1), binary.astype(np.float32))
    alpha[alpha < ALPHA_CLIP] = 0
    alpha[alpha > 1 - ALPHA_CLIP] = 1
    if scale < 1:
        alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
    return alpha.astype(np.float32)


def guided_filter(guide: np.ndarray, source: np.ndarray, *, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a colour guide (edges follow the photo's colour edges)."""
    def mean(array):
        return cv2.boxFilter(array, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)

    mean_i = mean(guide)
    mean_p = mean(source)
    cov_ip = mean(guide * source[..., None]) - mean_i * mean_p[..., None]

    def covariance(i, j):
        return mean(guide[..., i] * guide[..., j]) - mean_i[..., i] * mean_i[..., j] + (eps if i == j else 0.0)

    a = _solve_symmetric_3x3(covariance(0, 0), covariance(0, 1), covariance(0, 2), covariance(1, 1),
                             covariance(1, 2), covariance(2, 2), cov_ip)
    b = mean_p - (a * mean_i).sum(-1)
    return (mean(a) * guide).sum(-1) + mean(b)


def _solve_symmetric_3x3(xx, xy, xz, yy, yz, zz, right: np.ndarray) -> np.ndarray:
    """Per pixel, the solution of a symmetric 3×3 system (given by its six entries) by its cofactors:
    several times faster than np.linalg.solve on a million tiny systems."""
    cxx, cxy, cxz = yy * zz - yz * yz, xz * yz - xy * zz, xy * yz - xz * yy
    cyy, cyz, czz = xx * zz - xz * xz, xy * xz - xx * yz, xx * yy - xy * xy
    determinant = xx * cxx + xy * cxy + xz * cxz
    r0, r1, r2 = right[..., 0], right[..., 1], right[..., 2]
    return np.stack([cxx * r0 + cxy * r1 + cxz * r2, cxy * r0 + cyy * r1 + cyz * r2,
                     cxz * r0 + cyz * r1 + czz * r2], axis=-1) / determinant[..., None]


def segment_again(rgb: np.ndarray, *, work_long_side: int, rectangle: tuple[int, int, int, int] | None = None,
                  keep: Sequence[Stroke] = (), remove: Sequence[Stroke] = ()) -> np.ndarray:
    """The segmenter's hard mask (the photo's size) at another working size, from the same marks as the
    cut-out it re-checks; the automatic path raises NoClearProduct as cut_out does."""
    if rectangle is None and not keep and not remove:
        return _automatic_mask(rgb, work_long_side)
    return _segment(rgb, rectangle=rectangle, keep=list(keep), remove=list(remove), work_long_side=work_long_side).full
