"""Pure clustering pieces: vocabulary, k by silhouette, centroid matching."""

import numpy as np

from profiles.personas import clustering


def three_tastes(per_group: int = 30, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    groups = (("剪纸", "非遗", "皮影"), ("环保", "竹制", "天然"), ("送礼", "礼盒", "体面"))
    customers = []
    for words in groups:
        for _ in range(per_group):
            bag = {word: float(rng.uniform(0.5, 2)) for word in words}
            bag["扇子"] = float(rng.uniform(0, 3))  # a word every group uses
            customers.append(bag)
    return customers


def test_k_is_chosen_by_silhouette_and_recovers_three_tastes():
    keywords = three_tastes()
    vocabulary = clustering.build_vocabulary(keywords)
    fit = clustering.choose_k_and_fit(vocabulary.embed(keywords))
    assert fit.k == 3 and fit.silhouette > 0.5
    labels = fit.labels
    assert len(set(labels[:30])) == len(set(labels[30:60])) == len(set(labels[60:])) == 1
    assert len({labels[0], labels[30], labels[60]}) == 3


def test_idf_downweights_the_word_everyone_uses():
    vocabulary = clustering.build_vocabulary(three_tastes())
    assert vocabulary.idf[vocabulary.index["扇子"]] < vocabulary.idf[vocabulary.index["剪纸"]]


def test_too_few_customers_get_one_persona_and_say_why():
    keywords = three_tastes(per_group=1)
    fit = clustering.choose_k_and_fit(clustering.build_vocabulary(keywords).embed(keywords))
    assert fit.k == 1 and "cannot be chosen by silhouette" in fit.note


def test_matching_keeps_identities_when_clusters_come_back_in_another_order():
    old = [{"剪纸": 0.9, "非遗": 0.5}, {"环保": 0.8, "竹制": 0.6}, {"送礼": 0.7}]
    new = [{"送礼": 0.6, "礼盒": 0.3}, {"剪纸": 0.8, "皮影": 0.2}, {"环保": 0.9}, {"收藏": 1.0}]
    assert clustering.match_centroids(old, new) == {0: 2, 1: 0, 2: 1}


def test_nearest_centroid():
    centroids = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    labels, distances = clustering.nearest(np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32), centroids)
    assert labels.tolist() == [0, 1] and np.all(distances < 0.3)


def test_products_join_the_keywords_as_weighted_terms():
    products = clustering.product_weights([(7, 1.0), (7, 1.0), (9, 0.25), (None, 1.0), (3, 0.0)])
    assert products == {"7": 2.0, "9": 0.25}
    assert clustering.customer_terms({"剪纸": 1.5}, products) == {
        "剪纸": 1.5, "product:7": 2.0 * clustering.PRODUCT_WEIGHT, "product:9": 0.25 * clustering.PRODUCT_WEIGHT}
    assert clustering.customer_terms({"剪纸": 1.5}) == {"剪纸": 1.5}
