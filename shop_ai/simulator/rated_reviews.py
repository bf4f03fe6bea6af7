"""Star-rated reviews in a shop's own language, for testing and benchmarking per-shop sentiment adaptation.

Each domain has the phrases its shoppers use (internet slang, sarcasm, trade words: 分量感人, 隔音感人,
踩雷, 无限回购, 回甘明显) whose polarity a model trained on general review corpora often misreads, and
neutral context. A review joins 1-3 context clauses and 1-2 verdict phrases of its polarity; its
rating is 4-5 stars when positive, 1-2 when negative, and a share of reviews get 3 stars and a
mixed text. ``noise`` flips that share of ratings to the other side (5 stars on "太差了").

Synthetic: it says whether the adaptation learns a shop's words from its ratings, not how accurate
the base model is on real reviews. All phrases were written for this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONTEXT = {
    "crafts": ["给妈妈买的生日礼物", "第二次在这家买了", "双十一下单的", "送朋友的伴手礼", "摆在书房里",
               "快递三天到的", "包装是牛皮纸盒", "和图片差不多大", "这次买的是团扇", "买了剪纸和书签",
               "景泰蓝手镯", "青花瓷茶杯一对", "丝巾是真丝的", "折扇扇面是手绘的", "客服回复很及时"],
    "food": ["中午点的外卖", "加班到十点点的", "第一次点这家", "点了黄焖鸡米饭", "点了一份麻辣香锅",
             "下雨天送来的", "公司楼下这家", "点了奶茶和炸鸡", "满减之后二十多块", "宿舍四个人一起点的",
             "备注了不要香菜", "点的是小份", "骑手打电话说到了", "点了一份酸菜鱼", "早餐点的粥和包子"],
    "hotel": ["出差住了两晚", "周末带孩子来住", "订的是大床房", "离地铁站不远", "前台办理入住",
              "住的是十二楼", "早餐是自助的", "晚上十点到的", "朋友推荐的这家", "春节期间入住",
              "房间朝南", "开会住在这里", "订的是标间", "停车场在地下", "退房时间是中午"],
}

POSITIVE = {
    "crafts": ["绝绝子", "狠狠爱了", "无限回购", "种草成功", "颜值天花板", "针脚细到离谱", "氛围感拉满",
               "朋友都问链接", "yyds", "被惊艳到了", "闭眼入", "宝藏店铺", "质感在线", "包浆自然", "釉色温润"],
    "food": ["骑手小哥yyds", "分量很顶", "锅气十足", "无限回购", "香迷糊了", "一口入魂", "宝藏店铺",
             "吃到撑", "汤底绝了", "狠狠爱了", "干饭人狂喜", "配送快到飞起", "还是热乎的", "回购第五次", "yyds"],
    "hotel": ["性价比天花板", "前台小姐姐超nice", "床品软到不想起", "隔音绝了", "躺平了一整天", "宝藏酒店",
              "早餐种类多到选择困难", "下次还住", "闭眼订", "窗景绝绝子", "服务天花板", "干净到发光",
              "管家yyds", "被治愈了", "浴缸超大狂喜"],
}

NEGATIVE = {
    "crafts": ["踩雷了", "货不对板", "一言难尽", "买家秀和卖家秀", "智商税", "翻车了", "塑料感扑面而来",
               "就这？", "拔草了", "避雷", "劝退", "线头感人", "颜色感人", "做工感人", "交个朋友吧"],
    "food": ["分量感人", "送到都坨了", "踩雷了", "一言难尽", "避雷", "就这？", "汤洒了一袋子", "吃出头发",
             "咸到齁", "凉透了", "拔草", "翻车了", "等到花儿都谢了", "劝退", "智商税"],
    "hotel": ["隔音感人", "床品一股味", "蟑螂出没", "踩雷了", "货不对板", "一言难尽", "避雷", "就这？",
              "空调是摆设", "前台态度感人", "热水等到天荒地老", "图片仅供参考", "劝退", "翻车了", "再也不来了"],
}

DOMAINS = tuple(CONTEXT)


@dataclass(frozen=True)
class RatedReviews:
    texts: list[str]
    stars: np.ndarray  # 1-5, after noise
    truth: np.ndarray  # the text's real polarity: 1 positive, 0 negative, -1 mixed (3 stars)


def rated_reviews(domain: str, count: int, *, seed: int, noise: float = 0.0, positive_share: float = 0.6,
                  mixed_share: float = 0.05) -> RatedReviews:
    """``count`` reviews of ``domain`` ("crafts", "food", "hotel"); ``noise`` flips that share of the
    1-2 / 4-5 star ratings to the other side."""
    if domain not in CONTEXT:
        raise ValueError(f"unknown domain {domain!r}; use one of {', '.join(DOMAINS)}")
    rng = np.random.default_rng(seed)
    texts, stars, truth = [], [], []
    for _ in range(count):
        if rng.random() < mixed_share:
            texts.append(_compose(rng, domain, [*_pick(rng, POSITIVE[domain], 1), *_pick(rng, NEGATIVE[domain], 1)]))
            stars.append(3)
            truth.append(-1)
            continue
        positive = rng.random() < positive_share
        verdicts = _pick(rng, (POSITIVE if positive else NEGATIVE)[domain], int(rng.integers(1, 3)))
        texts.append(_compose(rng, domain, verdicts))
        rating = int(rng.integers(4, 6)) if positive else int(rng.integers(1, 3))
        if rng.random() < noise:
            rating = 6 - rating
        stars.append(rating)
        truth.append(int(positive))
    return RatedReviews(texts, np.array(stars), np.array(truth))


def _pick(rng: np.random.Generator, phrases: list[str], count: int) -> list[str]:
    return [phrases[i] for i in rng.choice(len(phrases), size=count, replace=False)]


def _compose(rng: np.random.Generator, domain: str, verdicts: list[str]) -> str:
    clauses = _pick(rng, CONTEXT[domain], int(rng.integers(1, 4))) + verdicts
    order = rng.permutation(len(clauses))
    return "，".join(clauses[i] for i in order) + str(rng.choice(["。", "！", "", "~"]))
