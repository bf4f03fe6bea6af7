from profiles.nlp.opinions import cluster_opinions, split_sentences, summarise_opinions

FAN_BREAKS = ["扇骨用了三天就断了", "扇骨太容易断了", "扇骨断了一根，质量太差", "扇骨很脆，一折就断"]
SLOW_DELIVERY = ["物流太慢了，等了十天", "物流慢得离谱，十天才到", "物流很慢，催了好几次"]
COLOUR = ["颜色比图片暗很多", "颜色和图片差别很大", "实物颜色比图片暗"]


def test_clusters_separate_topics_and_representatives_come_from_input():
    sentences = FAN_BREAKS + SLOW_DELIVERY + COLOUR
    clusters = cluster_opinions(sentences, n_clusters=3)
    assert len(clusters) == 3
    assert sum(cluster.size for cluster in clusters) == len(sentences)
    for cluster in clusters:
        assert cluster.representative in sentences
        assert cluster.keywords
        topic = next(group for group in (FAN_BREAKS, SLOW_DELIVERY, COLOUR) if cluster.representative in group)
        assert set(cluster.sentences) == set(topic)


def test_cluster_count_is_chosen_when_not_given():
    clusters = cluster_opinions(FAN_BREAKS + SLOW_DELIVERY + COLOUR)
    assert 2 <= len(clusters) <= 5
    assert clusters[0].size >= clusters[-1].size


def test_repeated_sentences_count_in_size():
    clusters = cluster_opinions(["物流很快"] * 5 + ["物流速度很快"])
    assert len(clusters) == 1 and clusters[0].size == 6
    assert clusters[0].representative in {"物流很快", "物流速度很快"}


def test_tiny_inputs():
    assert cluster_opinions([]) == []
    assert cluster_opinions(["", "😀", None]) == []
    [single] = cluster_opinions(["扇子很漂亮"])
    assert single.representative == "扇子很漂亮" and single.size == 1
    [pair] = cluster_opinions(["扇子很漂亮", "物流很快"])
    assert pair.size == 2 and pair.representative in {"扇子很漂亮", "物流很快"}


def test_split_sentences():
    assert split_sentences("扇子很好看！扇骨有点松。物流很快\nGreat fan. 😀") == [
        "扇子很好看！", "扇骨有点松。", "物流很快", "Great fan.",
    ]


def test_summarise_by_polarity_with_given_probabilities():
    reviews = ["扇子很漂亮。做工精细。", "扇骨断了。物流太慢。"]
    summary = summarise_opinions(reviews, probabilities=[0.9, 0.1])
    positive = {s for cluster in summary["positive"] for s in cluster.sentences}
    negative = {s for cluster in summary["negative"] for s in cluster.sentences}
    assert positive == {"扇子很漂亮。", "做工精细。"}
    assert negative == {"扇骨断了。", "物流太慢。"}


def test_summarise_with_the_shipped_sentiment_model():
    reviews = ["质量很好，非常满意，做工精细。", "太差了，用了一天就坏了，非常失望。", ""]
    summary = summarise_opinions(reviews)
    assert summary["positive"] and summary["negative"]


def test_odd_texts_do_not_crash(odd_text):
    assert isinstance(cluster_opinions([odd_text, odd_text, "扇子很好"]), list)
    assert isinstance(split_sentences(odd_text), list)
