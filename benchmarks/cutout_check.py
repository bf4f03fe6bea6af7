#!/usr/bin/env python
"""The cut-out check (generation/imaging/cutout_check.py) on the real photos' automatic cut-outs.

Per photo of the chosen split: the segmenter's cut-out, its IoU against the hand-checked mask, the
check's score and reasons, and its time. A cut-out under IoU 0.88 is bad and should be flagged; a good
one flagged costs the owner a look. Beside it, in the same run,
the baselines: no check at all (what shipped: nothing is flagged once the segmenter accepts the photo),
the segmenter's own refusal test `_check_clear_product` applied to the cut-out it kept, and the
bluntest safe policy, an owner's look at every automatic cut-out.
The check's thresholds were set on split=test only; split=benchmark (the default) is only scored.

Measured once the thresholds were committed (December 2026, split=benchmark, 32 photos, 6 refused by
the segmenter): the check flagged 11 of the 18 bad cut-outs and 4 of the 8 good ones; no check 0 of 18,
`_check_clear_product` 1 of 18. So it does NOT meet the aim of flagging every bad cut-out: the seven it
missed were stable, sharp-edged wrong cut-outs (the blue-and-white plate cut in half at IoU 0.684, and
six at IoU 0.815-0.880). The thresholds were not changed after this run. Since then auto-approve waits
for the owner's confirmation of every automatic cut-out (the "flag every automatic one" row;
generation/product_staging.py), and the check's flag only orders which ones to look at first.

Re-run in session 14, same thresholds, after the segmenter learnt to read each photo once more from its
best reading and after 10 benchmark masks were redrawn (generation/real_photos/AUDIT.md): 5 refused;
the check flags 7 of the 9 bad cut-outs and 5 of the 18 good ones; no check 0 of 9;
`_check_clear_product` 3 of 9. The two bad ones it misses are the wooden fish (IoU 0.790) and the jade
dragon pendant (0.879).

Re-run in session 15, same thresholds and segmenter, after the other 18 benchmark masks were redrawn:
5 refused; the check flags 5 of the 6 bad cut-outs and 7 of the 21 good ones; no check 0 of 6;
`_check_clear_product` 3 of 6. The one bad cut-out it misses is the wooden fish (0.790); the jade
dragon now scores 0.984 against its redrawn mask.

Run:  nice -n 10 .venv/bin/python benchmarks/cutout_check.py [--split benchmark|test] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from tqdm import tqdm  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation.imaging.cutout import NoClearProduct, _check_clear_product, _segment, cut_out  # noqa: E402
from generation.imaging.cutout_check import cutout_confidence  # noqa: E402
from generation.imaging.photo_input import load_photo  # noqa: E402
from generation.real_photos import mask_iou, real_photos  # noqa: E402

BAD_BELOW = 0.88


def clear_product_baseline(rgb: np.ndarray, alpha: np.ndarray) -> bool:
    """Whether `_check_clear_product` (the segmenter's own refusal test) flags the kept cut-out."""
    segmentation = _segment(rgb, rectangle=None, keep=[], remove=[])
    kept = cv2.resize((alpha > 0.5).astype(np.uint8), segmentation.small.shape[::-1],
                      interpolation=cv2.INTER_NEAREST).astype(bool)
    try:
        _check_clear_product(type(segmentation)(full=alpha > 0.5, small=kept, photo=segmentation.photo,
                                                samples=segmentation.samples,
                                                distance=segmentation.distance))
    except NoClearProduct:
        return True
    return False


def measure(photo_row) -> dict:
    photo = load_photo(photo_row.path.read_bytes())
    rgb = np.asarray(photo.convert("RGB"))
    truth = np.asarray(Image.open(photo_row.mask_path).convert("L")) > 127
    result = {"file": photo_row.path.name, "category": photo_row.category, "background": photo_row.background}
    try:
        cutout = cut_out(photo)
    except NoClearProduct:
        result.update(refused=True)  # no cut-out, so nothing to publish: the job fails and asks the owner
        return result
    started = time.perf_counter()
    confidence = cutout_confidence(rgb, cutout.alpha, source=cutout.source)
    overlap = mask_iou(cutout.alpha, truth)
    result.update(refused=False, iou=round(overlap, 4), bad=overlap < BAD_BELOW,
                  score=round(confidence.score, 4), flagged=confidence.flagged, reasons=list(confidence.reasons),
                  signals=confidence.as_dict()["signals"], check_seconds=round(time.perf_counter() - started, 2),
                  clear_product_flags=clear_product_baseline(rgb, cutout.alpha))
    return result


def _rates(results: list[dict], flagged) -> dict:
    """How many bad and good cut-outs `flagged` (a function of a result) flags."""
    scored = [item for item in results if not item["refused"]]
    bad = [item for item in scored if item["bad"]]
    good = [item for item in scored if not item["bad"]]
    return {"bad": len(bad), "bad_flagged": sum(map(flagged, bad)), "good": len(good),
            "good_flagged": sum(map(flagged, good)),
            "bad_published_with_auto_approve": sum(not flagged(item) for item in bad)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Cut-out check on the real photos' automatic cut-outs")
    parser.add_argument("--split", default="benchmark", choices=["benchmark", "test"])
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rows = [row for row in real_photos(split=args.split) if row.path.exists() and row.mask_path.exists()]
    results = [measure(row) for row in tqdm(rows, desc=f"cut-out check ({args.split})")]
    print(f"{'photo':40s} {'IoU':>6s} {'bad':>4s} {'score':>6s} {'flag':>5s} {'clear?':>6s} {'s':>5s}  reasons")
    for item in results:
        if item["refused"]:
            print(f"{item['file']:40s} refused by the segmenter (the job fails and asks the owner to mark the product)")
            continue
        print(f"{item['file']:40s} {item['iou']:6.3f} {'bad' if item['bad'] else '':>4s} {item['score']:6.3f} "
              f"{'yes' if item['flagged'] else 'no':>5s} {'yes' if item['clear_product_flags'] else 'no':>6s} "
              f"{item['check_seconds']:5.2f}  {'; '.join(item['reasons'])}")
    summary = {"split": args.split, "photos": len(results), "refused": sum(item["refused"] for item in results),
               "bad_below_iou": BAD_BELOW,
               "cutout_check": _rates(results, lambda item: item["flagged"]),
               "baseline_no_check": _rates(results, lambda item: False),
               "baseline_clear_product_test": _rates(results, lambda item: item["clear_product_flags"]),
               "baseline_flag_every_automatic_cutout": _rates(results, lambda item: True),
               "median_check_seconds": float(np.median([item["check_seconds"] for item in results
                                                        if not item["refused"]] or [0]))}
    print()
    print(f"{'check':28s} {'bad flagged':>12s} {'good flagged':>13s} {'bad auto-published':>19s}")
    for name, key in (("cut-out check", "cutout_check"), ("no check (shipped)", "baseline_no_check"),
                      ("_check_clear_product alone", "baseline_clear_product_test"),
                      ("flag every automatic one", "baseline_flag_every_automatic_cutout")):
        rates = summary[key]
        print(f"{name:28s} {rates['bad_flagged']:>5d} of {rates['bad']:<4d} {rates['good_flagged']:>6d} of "
              f"{rates['good']:<4d} {rates['bad_published_with_auto_approve']:>19d}")
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "results": results}, indent=2))


if __name__ == "__main__":
    main()
