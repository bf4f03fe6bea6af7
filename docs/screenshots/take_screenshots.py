"""Take the README's screenshots of a running shop-ai: the owner dashboard, the benefit report and the storefront.

    python manage.py demo --no-serve          # prints the owner's password and the storefront's shop id
    python manage.py runserver 127.0.0.1:8765 --noreload &
    python docs/screenshots/take_screenshots.py --shop-id 1 -- http://127.0.0.1:8765 owner PASSWORD

(`--` before the positional arguments lets a password start with "-", as the demo's sometimes do.)

Drives Debian's Chromium (`/usr/bin/chromium`, never `playwright install`) at 1280 px wide, full page, plus
one 375 px wide shot of the overview. Chinese text needs a CJK font (`apt-get install fonts-noto-cjk`).
Each PNG is kept under --max-kb: a shot too big for that is reduced to 256 colours, and a page still too
long is cut to its first screens. Point it at a demo, not a live shop: opening a product page as one of
the switcher's customers logs an exposure for that customer.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path
from urllib.parse import urljoin

from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).resolve().parent
WIDTH, MOBILE_WIDTH, HEIGHT = 1280, 375, 900
SETTLE_MS = 600  # charts and images after "load"; the generation page polls, so never wait for network idle
LOAD_ALL_IMAGES = """() => Promise.all([...document.images].map(img => {
    img.loading = "eager";
    return img.complete ? null : new Promise(done => { img.onload = img.onerror = done; });
}))"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", help="e.g. http://127.0.0.1:8765")
    parser.add_argument("username")
    parser.add_argument("password")
    parser.add_argument("--shop-id", type=int, default=1, help="the shop whose storefront /store/<id>/ to show")
    parser.add_argument("--out", type=Path, default=HERE, help="where the PNGs go (default: beside this script)")
    parser.add_argument("--max-kb", type=int, default=400, help="largest PNG to keep")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    base = args.base_url.rstrip("/") + "/"
    args.out.mkdir(parents=True, exist_ok=True)
    shots = Shooter(args.out, args.max_kb)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
        page = context.new_page()
        log_in(page, base, args.username, args.password)

        shots.take(page, urljoin(base, "dashboard/"), "dashboard-overview")
        shots.take(page, urljoin(base, "dashboard/personas/"), "dashboard-personas")
        shots.take(page, persona_url(page, base), "dashboard-persona")
        shots.take(page, urljoin(base, "dashboard/generation/"), "dashboard-generation")
        shots.take(page, job_url(page), "dashboard-job")
        shots.take(page, urljoin(base, "dashboard/listings/"), "dashboard-listings")
        shots.take(page, urljoin(base, "dashboard/settings/"), "dashboard-settings")
        shots.take(page, urljoin(base, "dashboard/reports/benefit/"), "report-benefit")

        store = urljoin(base, f"store/{args.shop_id}/")
        holdout_images = storefront_as(page, store, "holdout")
        shots.take(page, None, "store-holdout")
        storefront_as(page, store, "a customer of")
        shots.take(page, None, "store-persona")
        shots.take(page, variant_product_url(page, holdout_images), "store-product")

        mobile = browser.new_context(viewport={"width": MOBILE_WIDTH, "height": 812}, device_scale_factor=1,
                                     is_mobile=True, has_touch=True, storage_state=context.storage_state())
        shots.take(mobile.new_page(), urljoin(base, "dashboard/"), "dashboard-overview-mobile")
        browser.close()

    for name, size, note in shots.taken:
        print(f"{name:<40} {size // 1024:>4} KB  {note}")
    return 0


def log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(urljoin(base, "accounts/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    if "/accounts/login/" in page.url:
        sys.exit(f"Could not log in as {username!r} at {base}accounts/login/.")


def persona_url(page: Page, base: str) -> str:
    """The largest persona with enough signal (the personas page must be open)."""
    best, best_size = None, -1
    for row in page.locator("table tbody tr").all():
        if row.locator(".status").count():  # "too little signal yet"
            continue
        size = int(re.sub(r"\D", "", row.locator("td.number").first.inner_text()) or 0)
        if size > best_size:
            best, best_size = row.locator("a").first.get_attribute("href"), size
    if best is None:
        sys.exit("No persona on the personas page: run the demo first.")
    return urljoin(page.url, best)


def job_url(page: Page) -> str:
    """A succeeded job (the generation page must be open): its page shows results and fidelity."""
    link = page.locator('tr[data-status="succeeded"] a[href*="/jobs/"]').first
    if not link.count():
        link = page.locator('a[href*="/generation/jobs/"]').first
    if not link.count():
        sys.exit("No generation job on the generation page: run the demo first.")
    return urljoin(page.url, link.get_attribute("href"))


def storefront_as(page: Page, store: str, label: str) -> dict[str, str]:
    """Open the storefront and pick the switcher's first viewer whose label contains `label`; returns the
    grid's image per product link (without the ?customer= part)."""
    page.goto(store)
    options = page.locator("#customer option").all()
    value = next((o.get_attribute("value") for o in options if label in o.inner_text()), None)
    if value is None:
        sys.exit(f"The storefront's switcher offers no {label!r} viewer.")
    with page.expect_navigation():
        page.select_option("#customer", value)
    page.wait_for_load_state("load")
    return grid_images(page)


def grid_images(page: Page) -> dict[str, str]:
    return {a.get_attribute("href").split("?")[0]: a.locator("img").get_attribute("src")
            for a in page.locator("ul.grid a").all()}


def variant_product_url(page: Page, holdout_images: dict[str, str]) -> str:
    """The first product the current viewer sees redrawn (its image differs from the holdout's)."""
    links = page.locator("ul.grid a").all()
    if not links:
        sys.exit("The storefront shows no products.")
    for a in links:
        if a.locator("img").get_attribute("src") != holdout_images.get(a.get_attribute("href").split("?")[0]):
            return urljoin(page.url, a.get_attribute("href"))
    return urljoin(page.url, links[0].get_attribute("href"))


class Shooter:
    def __init__(self, out: Path, max_kb: int):
        self.out, self.limit, self.taken = out, max_kb * 1024, []

    def take(self, page: Page, url: str | None, name: str) -> None:
        if url:
            response = page.goto(url)
            if response is None or not response.ok:
                sys.exit(f"{url} answered {response.status if response else 'nothing'}.")
        page.wait_for_load_state("load")
        page.evaluate(LOAD_ALL_IMAGES)  # a full-page shot would show lazy images below the fold as blanks
        page.evaluate("document.fonts.ready")
        page.wait_for_timeout(SETTLE_MS)
        png, note = page.screenshot(full_page=True), "full page"
        if len(png) > self.limit:
            png, note = fewer_colours(png), "full page, 256 colours"
        width, height = page.viewport_size["width"], page.viewport_size["height"]
        for screens in (3, 2, 1):  # still too big: a long page's first screens only
            if len(png) <= self.limit:
                break
            clip = {"x": 0, "y": 0, "width": width, "height": height * screens}
            png, note = fewer_colours(page.screenshot(full_page=True, clip=clip)), f"first {screens} screens, 256 colours"
        path = self.out / f"{name}.png"
        path.write_bytes(png)
        self.taken.append((path.name, len(png), note))


def fewer_colours(png: bytes) -> bytes:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


if __name__ == "__main__":
    sys.exit(main())
