"""Persona learning: customer profiles, K-means personas, incremental assignment, summaries.

Full recompute: every customer's profile is rebuilt, the vocabulary and K-means are refitted
and the new clusters are matched to the old personas so their ids survive. Incremental: only
customers with new events are rebuilt and assigned to the nearest existing centroid; when
enough customers changed since the last fit (DRIFT_SHARE), or the fit is older than
settings.PERSONA_REFIT_DAYS (new products bring words the old vocabulary lacks), a full recompute
runs instead.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from profiles.locks import shop_personas_lock
from profiles.models import Customer, CustomerProfile, Event, Persona, PersonaClustering, ReviewAnalysis, Shop
from profiles.nlp.keywords import customer_keywords
from profiles.personas import clustering
from profiles.personas.analysis import analyse_reviews
from profiles.shop_sentiment import shop_sentiment_model
from profiles.personas.kansei import kansei_scores
from profiles.selectors import customer_signals
from profiles.services import customers_mark_profiled

logger = logging.getLogger(__name__)
DEMAND_CODES = ("L0", "L1", "L2", "L3", "L4", "L5")
DRIFT_SHARE = 0.2
MATERIAL_SIMILARITY = 0.9  # centroid cosine below this: the persona changed materially
NEW_VISITORS_NAME = "New visitors"
TOP_KEYWORDS = 15
CHUNK = 2000
OPINION_REVIEWS = 1500
REFRESH_LOST_AFTER = timedelta(minutes=10)
Progress = Callable[[int], None]


def _reviews_analyse(shop: Shop, customer_reviews: dict[int, list[tuple[int, str]]]) -> dict[int, ReviewAnalysis]:
    """Analyse the reviews not analysed yet; return every review's analysis by event pk."""
    event_ids = [pk for reviews in customer_reviews.values() for pk, _ in reviews]
    known = {a.event_id: a for a in ReviewAnalysis.objects.filter(shop=shop, event_id__in=event_ids)}
    todo = [(customer_id, pk, text) for customer_id, reviews in customer_reviews.items()
            for pk, text in reviews if pk not in known]
    results = analyse_reviews([text for _, _, text in todo], shop_sentiment_model(shop=shop) if todo else None)
    created = [
        ReviewAnalysis(event_id=pk, shop=shop, customer_id=customer_id, sentiment=r.sentiment,
                       is_demand=r.is_demand, demand_type=r.demand_type, keywords=r.keywords)
        for (customer_id, pk, _), r in zip(todo, results)
    ]
    ReviewAnalysis.objects.bulk_create(created, ignore_conflicts=True)
    known.update({a.event_id: a for a in created})
    return known


def _demand_mix(analyses: list[ReviewAnalysis]) -> dict[str, float]:
    counts = Counter(a.demand_type for a in analyses if a.is_demand and a.demand_type)
    total = sum(counts.values())
    return {code: round(counts[code] / total, 4) for code in DEMAND_CODES} if total else {}


def customer_profiles_refresh(*, shop: Shop, customer_ids: list[int]) -> list[CustomerProfile]:
    """Rebuild the profiles of these customers from their events (a failing customer is logged and skipped)."""
    signals = customer_signals(shop=shop, customer_ids=customer_ids)
    analyses = _reviews_analyse(shop, {cid: s.reviews for cid, s in signals.items()})
    existing = {p.customer_id: p for p in CustomerProfile.objects.filter(shop=shop, customer_id__in=customer_ids)}
    profiles = []
    for customer_id, signal in signals.items():
        try:
            profile = existing.get(customer_id) or CustomerProfile(customer_id=customer_id, shop=shop)
            reviewed = [analyses[pk] for pk, _ in signal.reviews if pk in analyses]
            profile.keywords = customer_keywords(signal.weighted_texts, weighted_tags=signal.weighted_tags)
            profile.products = clustering.product_weights(signal.weighted_products)
            profile.demand_mix = _demand_mix(reviewed)
            profile.sentiment = float(np.mean([a.sentiment for a in reviewed])) if reviewed else None
            profile.event_count, profile.review_count = signal.event_count, len(reviewed)
            profiles.append(profile)
        except Exception:  # noqa: BLE001 - one bad customer must not stop the others
            logger.exception("Could not profile customer %s of shop %s; skipped", customer_id, shop.id)
    _save_profiles(shop, profiles, {pk: signals[pk].event_count for pk in customer_ids})
    return profiles


def _save_profiles(shop: Shop, profiles: list[CustomerProfile], event_counts: dict[int, int]) -> None:
    fields = ["keywords", "products", "demand_mix", "sentiment", "event_count", "review_count", "persona", "distance"]
    with transaction.atomic():
        # An upsert, not a plain insert: a concurrent refresh of the same customers must not fail.
        CustomerProfile.objects.bulk_create(
            [p for p in profiles if p.pk is None], batch_size=500, update_conflicts=True,
            unique_fields=["customer"], update_fields=fields)
        CustomerProfile.objects.bulk_update([p for p in profiles if p.pk is not None], fields, batch_size=500)
        customers_mark_profiled(shop_id=shop.id, event_counts=event_counts)


def _clustering_state(shop: Shop) -> PersonaClustering:
    state, _ = PersonaClustering.objects.get_or_create(shop=shop)
    return state


def _new_visitors(shop: Shop) -> Persona:
    persona = Persona.objects.filter(shop=shop, is_new_visitors=True, retired_at__isnull=True).first()
    return persona or Persona.objects.create(shop=shop, name=NEW_VISITORS_NAME, is_new_visitors=True)


def _persona_name(top_keywords: list[tuple[str, float]], demand_mix: dict[str, float]) -> str:
    words = "·".join(word for word, _ in top_keywords[:3]) or "mixed"
    dominant = max(demand_mix, key=demand_mix.get) if demand_mix else None
    return f"{words} ({dominant})" if dominant else words


def personas_recompute_full(*, shop: Shop, progress: Progress | None = None, seed: int = 0) -> PersonaClustering:
    """Rebuild every profile, refit vocabulary and K-means, and keep persona ids stable."""
    with shop_personas_lock(shop.id):
        return _recompute_full(shop, progress, seed)


def _recompute_full(shop: Shop, progress: Progress | None, seed: int) -> PersonaClustering:
    customer_ids = list(Customer.objects.filter(shop=shop).order_by("id").values_list("id", flat=True))
    profiles: list[CustomerProfile] = []
    for start in range(0, len(customer_ids), CHUNK):
        chunk = customer_ids[start:start + CHUNK]
        profiles += customer_profiles_refresh(shop=shop, customer_ids=chunk)
        if progress:
            progress(len(chunk))
    terms = _customer_terms(profiles)
    vocabulary = clustering.build_vocabulary(terms)
    vectors = vocabulary.embed(terms)
    has_signal = np.linalg.norm(vectors, axis=1) > 0
    if has_signal.any():
        fit = clustering.choose_k_and_fit(vectors[has_signal], seed=seed)
    else:
        fit = clustering.Clustering(np.zeros(0, int), np.zeros((0, len(vocabulary.words)), np.float32), 0, None, {},
                                    "No customer has enough signal yet: everyone is a new visitor.")
    with transaction.atomic():
        state = _clustering_state(shop)
        personas = _personas_from_fit(shop, fit, vocabulary)
        _assign(profiles, has_signal, fit.labels, vectors, fit.centroids, personas, _new_visitors(shop))
        state.vocabulary, state.idf = vocabulary.words, [float(x) for x in vocabulary.idf]
        state.k, state.silhouette, state.note = fit.k, fit.silhouette, fit.note
        state.k_scores = {str(k): round(v, 4) for k, v in fit.k_scores.items()}
        state.customers_at_fit, state.changed_since_fit = len(profiles), 0
        state.version += 1
        state.fitted_at = timezone.now()
        state.save()
    persona_summaries_update(shop=shop, with_opinions=True)
    _announce_personas_changed(shop, [p.id for p in personas])
    return state


def _customer_terms(profiles: list[CustomerProfile]) -> list[dict[str, float]]:
    """What the full fit and the incremental assignment both embed: keywords and products."""
    return [clustering.customer_terms(p.keywords, p.products) for p in profiles]


def _announce_personas_changed(shop: Shop, persona_ids: list[int]) -> None:
    """Tell the generation layer by actor name (profiles never imports it); sent after commit."""
    import dramatiq

    if not persona_ids:
        return
    message = dramatiq.Message(queue_name="generation", actor_name="plan_generation",
                               args=(shop.id, sorted(persona_ids)), kwargs={}, options={})

    # Every app declares its actors at start-up (apps.py), so the queue is known in any process.
    transaction.on_commit(lambda: dramatiq.get_broker().enqueue(message), robust=True)


def _personas_from_fit(shop: Shop, fit: clustering.Clustering, vocabulary: clustering.Vocabulary) -> list[Persona]:
    """One Persona row per new cluster: the matched old persona (same id, version+1) or a new one."""
    old = list(Persona.objects.filter(shop=shop, is_new_visitors=False, retired_at__isnull=True).order_by("id"))
    new_centroids = [clustering.centroid_as_dict(c, vocabulary) for c in fit.centroids]
    pairs = clustering.match_centroids([p.centroid or {} for p in old], new_centroids)
    personas = []
    for index, centroid in enumerate(new_centroids):
        persona = old[pairs[index]] if index in pairs else Persona(shop=shop, name=f"Persona {index + 1}", version=0)
        if persona.pk is None or clustering.cosine(persona.centroid or {}, centroid) < MATERIAL_SIMILARITY:
            persona.version += 1  # a new or materially changed persona: its variants are redrawn
        persona.centroid = centroid
        persona.save()
        personas.append(persona)
    matched = {old[i].id for i in pairs.values()}
    Persona.objects.filter(id__in=[p.id for p in old if p.id not in matched]).update(retired_at=timezone.now(), size=0)
    return personas


def _assign(profiles, has_signal, labels, vectors, centroids, personas, new_visitors) -> None:
    label_iter = iter(labels)
    for profile, signal, vector in zip(profiles, has_signal, vectors):
        if signal:
            label = next(label_iter)
            profile.persona = personas[label]
            profile.distance = float(np.linalg.norm(vector - centroids[label]))
        else:
            profile.persona, profile.distance = new_visitors, None
    CustomerProfile.objects.bulk_update(profiles, ["persona", "distance"], batch_size=500)


def persona_refresh_request(*, shop_id: int) -> bool:
    """Ask for one refresh of the shop's stale customers; True only for the first caller in a window."""
    PersonaClustering.objects.get_or_create(shop_id=shop_id)
    now = timezone.now()
    # A request older than REFRESH_LOST_AFTER lost its message (broker outage): claim it again.
    open_window = Q(refresh_requested_at__isnull=True) | Q(refresh_requested_at__lt=now - REFRESH_LOST_AFTER)
    claimed = PersonaClustering.objects.filter(open_window, shop_id=shop_id).update(refresh_requested_at=now)
    return claimed == 1


def customers_mark_stale_from_events(*, shop: Shop) -> int:
    """Re-derive staleness from the events themselves (for messages lost while the broker was down)."""
    return Customer.objects.filter(shop=shop, profile_stale_since__isnull=True).filter(
        Q(profiled_at__isnull=True) | Q(last_seen_at__gt=F("profiled_at"))
    ).update(profile_stale_since=timezone.now())


def personas_refresh_stale(*, shop_id: int) -> dict:
    """Recompute the customers marked stale since the last refresh (the profiles queue's debounced job)."""
    from profiles.selectors import stale_customer_ids

    shop = Shop.objects.get(id=shop_id)
    with shop_personas_lock(shop.id):
        # Re-open the window once the lock is ours: events arriving from here on schedule the next
        # refresh. Re-opened before, while a long recompute held the lock, every batch scheduled
        # one more refresh to wait behind it, until they held all the worker's threads.
        PersonaClustering.objects.filter(shop=shop).update(refresh_requested_at=None)
        customer_ids = stale_customer_ids(shop=shop)
        if not customer_ids:
            return {"mode": "none", "customers": 0}
        return _assign_incremental(shop, customer_ids)


def personas_assign_incremental(*, shop: Shop, customer_ids: list[int]) -> dict:
    """Rebuild only these customers and place them at the nearest persona. Returns what was done."""
    with shop_personas_lock(shop.id):
        return _assign_incremental(shop, customer_ids)


def _assign_incremental(shop: Shop, customer_ids: list[int]) -> dict:
    state = _clustering_state(shop)
    if not state.fitted_at:
        personas_recompute_full(shop=shop)
        return {"mode": "full", "reason": "no clustering yet"}
    state.changed_since_fit += len(customer_ids)
    if state.changed_since_fit > DRIFT_SHARE * max(state.customers_at_fit, 1):
        personas_recompute_full(shop=shop)
        return {"mode": "full", "reason": f"{state.changed_since_fit} customers changed since the last fit"}
    refit_days = settings.PERSONA_REFIT_DAYS
    if refit_days and state.fitted_at < timezone.now() - timedelta(days=refit_days):
        personas_recompute_full(shop=shop)
        return {"mode": "full", "reason": f"the last fit is more than {refit_days} days old"}
    profiles = customer_profiles_refresh(shop=shop, customer_ids=customer_ids)
    vocabulary = clustering.Vocabulary(state.vocabulary, np.array(state.idf, dtype=np.float32))
    personas = list(Persona.objects.filter(shop=shop, is_new_visitors=False, retired_at__isnull=True).order_by("id"))
    vectors = vocabulary.embed(_customer_terms(profiles))
    has_signal = np.linalg.norm(vectors, axis=1) > 0
    touched = {p.persona_id for p in profiles}
    if personas:
        centroids = vocabulary.embed([p.centroid or {} for p in personas], weighting="none", normalise=False)
        labels, _ = clustering.nearest(vectors[has_signal], centroids) if has_signal.any() else ([], None)
        _assign(profiles, has_signal, labels, vectors, centroids, personas, _new_visitors(shop))
    touched |= {p.persona_id for p in profiles}
    PersonaClustering.objects.filter(pk=state.pk).update(changed_since_fit=state.changed_since_fit)
    persona_summaries_update(shop=shop, persona_ids=[pk for pk in touched if pk])
    _announce_personas_changed(shop, [pk for pk in touched if pk])
    return {"mode": "incremental", "customers": len(profiles)}


def persona_summaries_update(*, shop: Shop, persona_ids: list[int] | None = None, with_opinions: bool = False) -> None:
    """Size, top keywords, demand mix, sentiment, Kansei words (and opinions) of each persona."""
    personas = Persona.objects.filter(shop=shop, retired_at__isnull=True)
    if persona_ids is not None:
        personas = personas.filter(id__in=persona_ids)
    members = defaultdict(list)
    for profile in CustomerProfile.objects.filter(shop=shop, persona__in=personas).only(
            "persona_id", "keywords", "demand_mix", "sentiment"):
        members[profile.persona_id].append(profile)
    for persona in personas:
        _summarise(persona, members.get(persona.id, []))
        if with_opinions:
            _opinions(shop, persona)
        persona.save()


def _summarise(persona: Persona, members: list[CustomerProfile]) -> None:
    persona.size = len(members)
    totals: Counter[str] = Counter()
    for member in members:
        totals.update(member.keywords)
    top = [(word, round(weight / max(len(members), 1), 4)) for word, weight in totals.most_common(TOP_KEYWORDS)]
    persona.top_keywords = top
    mixes = [m.demand_mix for m in members if m.demand_mix]
    persona.demand_mix = ({code: round(float(np.mean([mix.get(code, 0) for mix in mixes])), 4)
                           for code in DEMAND_CODES} if mixes else {})
    sentiments = [m.sentiment for m in members if m.sentiment is not None]
    persona.sentiment = round(float(np.mean(sentiments)), 4) if sentiments else None
    persona.kansei = kansei_scores([" ".join(m.keywords) for m in members])
    if not persona.is_new_visitors:
        persona.name = _persona_name(top, persona.demand_mix)


def _opinions(shop: Shop, persona: Persona) -> None:
    """Main positive and negative viewpoints (seed 000 §3.3), from the persona's latest reviews."""
    from profiles.nlp.opinions import summarise_opinions

    texts = list(ReviewAnalysis.objects.filter(shop=shop, customer__profile__persona=persona)
                 .order_by("-event__occurred_at").values_list("event__text", flat=True)[:OPINION_REVIEWS])
    summary = summarise_opinions(texts)
    persona.positive_opinions = [_opinion_json(cluster) for cluster in summary["positive"]]
    persona.negative_opinions = [_opinion_json(cluster) for cluster in summary["negative"]]


def _opinion_json(cluster) -> dict:
    return {"representative": cluster.representative, "keywords": cluster.keywords, "size": cluster.size,
            "examples": cluster.sentences[:3]}
