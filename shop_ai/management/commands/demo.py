import json
import secrets
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from generation.real_photos import LOOKS_RIGHT_IOU  # the demo's owner confirms a cut-out this close
from profiles.models import Product, Shop
from profiles.services import api_key_create, shop_create
from shop_ai.simulator import SimulationConfig, simulate_store

DEMO_SHOP = "Demo Heritage Store"
DEMO_USER = "owner"
QUEUE_WAIT_SECONDS = 900


class Command(BaseCommand):
    help = ("Run shop-ai end to end on the embedded set-up: a demo shop with weeks of history, personas, "
            "persona variants generated and published, weeks of shoppers seeing them, then the web server.")

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--customers", type=int, default=400)
        parser.add_argument("--products", type=int, default=60)
        parser.add_argument("--weeks", type=int, default=6, help="Weeks of history before shop-ai.")
        parser.add_argument("--weeks-after", type=int, default=3, help="Weeks of shoppers seeing the variants.")
        parser.add_argument("--real-products", type=int, default=6,
                            help="Real, licensed product photos (generation/real_photos) staged for every persona "
                                 "(more if needed to show one confirmed cut-out and one waiting).")
        parser.add_argument("--no-serve", action="store_true", help="Prepare everything, then exit.")

    def handle(self, *args, **options):
        from shop_ai.broker import start_embedded_worker

        call_command("migrate", interactive=False, verbosity=0)
        shop = Shop.objects.filter(name=DEMO_SHOP).first() or shop_create(name=DEMO_SHOP)
        password, key = self._owner(shop), api_key_create(shop=shop, label="demo").raw_key
        self._auto_approve(shop)
        worker = start_embedded_worker() if settings.EMBEDDED_WORKER else None
        now = datetime.now(timezone.utc)
        switch_on = now - timedelta(weeks=options["weeks_after"])
        truth = Path(settings.VAR_DIR) / "simulations" / "demo-truth.json"
        base = dict(customers=options["customers"], products=options["products"], seed=2026)

        self.stdout.write(f"1/5 Simulating {options['weeks']} weeks of {DEMO_SHOP!r} before shop-ai …")
        history = simulate_store(shop=shop, config=SimulationConfig(**base, weeks=options["weeks"], end=switch_on),
                                 truth_path=truth)
        self.stdout.write(f"    {history.accepted} new events ({history.duplicates} already stored).")
        self._mark_catalogue_customisable(shop)
        self.stdout.write("2/5 Learning personas …")
        from profiles.personas.services import personas_recompute_full

        state = personas_recompute_full(shop=shop)
        self.stdout.write(f"    {state.k} personas (silhouette {state.silhouette or 0:.2f}). {state.note}")
        self.stdout.write("3/5 Staging each persona's top products, and real product photos, on the worker …")
        self._stage_real_products(shop, options["real_products"])
        self._wait_for_queues(worker)
        self._confirm_catalogue_cutouts(shop, truth)
        self._report_generation(shop)
        self._backdate_listings(shop, switch_on)
        self.stdout.write(f"4/5 Simulating {options['weeks_after']} weeks of shoppers seeing the variants …")
        from generation.storefront import exposure_log
        from shop_ai.simulator.storefront import storefront_shown_style

        after = simulate_store(shop=shop, config=SimulationConfig(**base, weeks=options["weeks_after"], end=now,
                                                                  period=1, images=False),
                               truth_path=truth.with_name("demo-truth-after.json"),
                               shown_style=storefront_shown_style(shop))
        exposure_log.flush()
        self.stdout.write(f"    {after.accepted} new events.")
        self._wait_for_queues(worker)
        self._rate_designs(shop)
        self._report_benefit(shop, switch_on, now)
        self._print_urls(options["port"], password, key, shop)
        if options["no_serve"]:
            return
        self.stdout.write("Serving (Ctrl-C to stop) …\n")
        call_command("runserver", f"127.0.0.1:{options['port']}", use_reloader=False)

    @staticmethod
    def _mark_catalogue_customisable(shop: Shop) -> None:
        """The rendered catalogue stands for print-on-demand goods: its variants print the persona's motif
        on the product (and the simulated shoppers respond to that style), where a real photo keeps its
        product untouched."""
        from generation.models import ProductStaging

        for product in Product.objects.filter(shop=shop, external_id__startswith="sim-"):
            ProductStaging.objects.update_or_create(product=product, defaults={"shop": shop, "customisable": True})

    def _stage_real_products(self, shop: Shop, count: int) -> None:
        """Photographs nobody here made, staged per persona beside the rendered catalogue. The demo's owner
        looks at each cut-out first: one that matches the photo's hand-checked mask is confirmed, so its
        listings are published as they finish; the others wait on the dashboard for a check. Past `count`,
        the demo goes on until it has one of each, so that the dashboard shows both."""
        from django.core.exceptions import ValidationError

        from generation.imaging.cutout import NoClearProduct
        from generation.product_staging import product_cutout_get, product_photo_load
        from generation.real_photos import hand_mask, real_photos
        from generation.services import generation_jobs_request
        from profiles.selectors import live_personas
        from shop_ai.simulator.real_products import real_products_import

        personas = list(live_personas(shop=shop).filter(is_new_visitors=False))
        photos = {f"real-{photo.stem}": photo for photo in real_photos()}
        staged, confirmed = [], 0
        for product in real_products_import(shop=shop, count=count * 2) if personas else []:
            if len(staged) >= count and 0 < confirmed < len(staged):
                break
            try:  # the demo shows products the segmenter cuts out alone; the dashboard lets an owner mark the rest
                cutout = product_cutout_get(product=product, photo=product_photo_load(product=product))
                confirmed += self._confirm_if_right(product, cutout.alpha, hand_mask(photos[product.external_id]))
                generation_jobs_request(shop=shop, product=product, personas=personas)
            except (NoClearProduct, ValidationError) as exc:
                self.stdout.write(f"    {product.external_id} left for the owner to mark: {exc}")
                continue
            staged.append(product)
        self.stdout.write(f"    {len(staged)} real products × {len(personas)} personas requested; the owner "
                          f"confirmed {confirmed} of their cut-outs (IoU ≥ {LOOKS_RIGHT_IOU} with the hand-checked "
                          f"mask), the others wait for a check on the dashboard.")

    def _confirm_catalogue_cutouts(self, shop: Shop, truth: Path) -> None:
        """The rendered catalogue's cut-outs, made by the worker, checked against the renderer's own mask of
        each product: the right ones are confirmed, which publishes their waiting listings."""
        from generation.models import ProductStaging
        from generation.product_staging import product_cutout_get, product_photo_load
        from generation.rendering.render import render_mask

        rendered = json.loads(truth.read_text(encoding="utf-8"))["products"]
        waiting = (ProductStaging.objects.filter(shop=shop, product__external_id__in=list(rendered),
                                                 confirmed_at__isnull=True, error="")
                   .exclude(alpha="").select_related("product"))
        confirmed = total = 0
        for staging in waiting:
            product, drawn = staging.product, rendered[staging.product.external_id]
            cutout = product_cutout_get(product=product, photo=product_photo_load(product=product))
            size = cutout.alpha.shape[0]
            total += 1
            confirmed += self._confirm_if_right(product, cutout.alpha, render_mask(drawn["shape"], drawn["seed"], size))
        self.stdout.write(f"    The owner confirmed {confirmed} of {total} rendered products' cut-outs "
                          f"(IoU ≥ {LOOKS_RIGHT_IOU} with the renderer's mask); the others wait for a check.")

    @staticmethod
    def _confirm_if_right(product: Product, alpha, truth) -> bool:
        from generation.product_staging import product_cutout_confirm
        from generation.real_photos import mask_iou

        if mask_iou(alpha, truth) < LOOKS_RIGHT_IOU:
            return False
        owner = get_user_model().objects.get(username=DEMO_USER)
        product_cutout_confirm(shop=product.shop, product=product, actor=f"user:{DEMO_USER}", user=owner)
        return True

    def _wait_for_queues(self, worker) -> None:
        if worker is None:
            self.stdout.write("    (jobs run on your rundramatiq workers)")
            return
        import dramatiq

        from profiles.ingestion.announcements import announcer

        announcer.flush()  # the stored events this process has not announced yet (EVENT_ANNOUNCE_SECONDS)
        broker = dramatiq.get_broker()
        deadline = time.monotonic() + QUEUE_WAIT_SECONDS
        for _ in range(3):  # profiles → generation plan → gpu jobs, each may enqueue the next
            for queue in ("profiles", "personas", "analytics", "generation", "gpu"):
                broker.join(queue, timeout=max(1, int((deadline - time.monotonic()) * 1000)))
            worker.join()

    def _report_generation(self, shop: Shop) -> None:
        from generation.models import GenerationJob, Listing

        jobs = GenerationJob.objects.filter(shop=shop)
        by_status = {status: jobs.filter(status=status).count() for status in ("succeeded", "failed")}
        live = Listing.objects.filter(shop=shop, status="published").count()
        self.stdout.write(f"    {jobs.count()} jobs: {by_status['succeeded']} succeeded, {by_status['failed']} failed; "
                          f"{live} listings published.")
        failed = jobs.filter(status="failed").first()
        if failed:
            self.stdout.write(self.style.WARNING(f"    e.g. job {failed.id} failed: {failed.error}"))

    @staticmethod
    def _backdate_listings(shop: Shop, switch_on: datetime) -> None:
        """The simulated shoppers of the "after" weeks saw the variants from `switch_on` on; date the
        listings' publication there too, or the report would find no days after AI."""
        from generation.models import Listing

        Listing.objects.filter(shop=shop, status="published", published_at__gt=switch_on).update(published_at=switch_on)

    def _rate_designs(self, shop: Shop) -> None:
        from shop_ai.simulator.kansei import simulate_kansei_ratings

        stored = simulate_kansei_ratings(shop=shop)
        self.stdout.write(f"    A panel of 3 experts and 8 shoppers rated the designs: {stored} Kansei ratings.")

    def _report_benefit(self, shop: Shop, switch_on: datetime, now: datetime) -> None:
        from analytics.reports import BenefitReportError, benefit_report
        from analytics.rollup import daily_stats_rebuild, shop_zone

        daily_stats_rebuild(shop=shop)  # the queue keeps it current; recounting here makes the demo exact
        zone = shop_zone(shop)
        end = now.astimezone(zone).date()
        start = (switch_on - (now - switch_on) * 2).astimezone(zone).date()
        try:
            report = benefit_report(shop=shop, start=start, end=end)
        except BenefitReportError as problem:
            self.stdout.write(self.style.WARNING(f"    benefit report: {problem}"))
            return
        self.stdout.write(f"5/5 Benefit report, {start} to {end}:")
        self.stdout.write(f"    {report.headline}")

    def _print_urls(self, port: int, password: str, key: str, shop: Shop) -> None:
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(self.style.SUCCESS("\nshop-ai demo is ready:"))
        self.stdout.write(f"  Start page      {base}/")
        self.stdout.write(f"  Dashboard       {base}/dashboard/   login: {DEMO_USER} / {password}")
        self.stdout.write(f"  Benefit report  {base}/dashboard/reports/benefit/")
        self.stdout.write(f"  Storefront      {base}/store/{shop.id}/   (switch customers to see each persona's variants)")
        self.stdout.write(f"  Admin           {base}/admin/   login: {DEMO_USER} / {password}")
        self.stdout.write(f"  API docs        {base}/api/v1/docs/")
        self.stdout.write(f"  Demo API key    {key}")

    @staticmethod
    def _auto_approve(shop: Shop) -> None:
        from generation.services import generation_settings_for

        generation = generation_settings_for(shop=shop)
        if generation.auto_approve_threshold is None:
            generation.auto_approve_threshold = generation.fidelity_threshold
        # the demo stages every persona's top products and the real photos in one day
        generation.daily_job_budget = max(generation.daily_job_budget, 2000)
        generation.save(update_fields=["auto_approve_threshold", "daily_job_budget"])

    @staticmethod
    def _owner(shop: Shop) -> str:
        """A staff login for the demo shop; its password is new on every run and printed."""
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USER, defaults={"is_staff": True})
        password = secrets.token_urlsafe(9)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        shop.staff.add(user)
        return password
