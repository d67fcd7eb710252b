"""Rule-based rewrite of a follow-up question into a standalone one (the offline default).

Staff chat: after "焦作招商六组的牵头领导是谁？" they ask "那招商七组呢？". Retrieval needs
"焦作招商七组的牵头领导是谁？". The rules find the new entity in the follow-up, find the
slot of the same type in the previous (already standalone) question, and substitute it:

    招商N组, 第N改/条/项, years, “quoted terms”, places (省/市/县/区 names and the
    regional blocs), industries (…产业/…业) and mechanisms (…机制)

A follow-up with its own predicate and a pronoun ("它主要负责哪些领域？") gets the previous
question's topic in place of the pronoun. A question that is already standalone is
returned unchanged. When an LLM is configured it rewrites instead (``rag.llm``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NUM = r"[一二三四五六七八九十百零〇两\d]+"
_BLOCS = "长三角|珠三角|环渤海|京津冀|粤港澳大湾区|成渝|中原城市群|长江经济带|东北|西部|中部|东部"
_PROVINCES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|"
    "四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
# Cities named in policy documents of this field often appear without 市; a short list of
# prefecture-level names keeps "承德呢？" recognisable as a place.
_CITIES = (
    "石家庄|唐山|秦皇岛|邯郸|邢台|保定|张家口|承德|沧州|廊坊|衡水|郑州|开封|洛阳|平顶山|安阳|鹤壁|新乡|焦作|"
    "濮阳|许昌|漯河|三门峡|南阳|商丘|信阳|周口|驻马店|济源|汝州|深圳|广州|杭州|南京|苏州|武汉|成都|西安|"
    "合肥|长沙|济南|青岛|厦门|宁波|无锡|东莞|佛山|太原|沈阳|大连|长春|哈尔滨|福州|南昌|昆明|贵阳|南宁|"
    "兰州|西宁|银川|乌鲁木齐|呼和浩特|拉萨|海口|雄安"
)
_PLACE = re.compile(rf"(?:{_BLOCS})(?:地区)?|(?:{_PROVINCES})(?:省|市|自治区)?|(?:{_CITIES})(?:市)?")
_NOT_PLACES = frozenset(
    "城市 城区 地区 市区 园区 社区 景区 开发区 新区 片区 辖区 县区 市县 县市 省市 都市 超市 上市 集聚区 示范区 "
    "试验区 实验区 自贸区 保税区 产业区 功能区 核心区 先行区 城市群 中心城区 老城区 郊区 山区 灾区 牧区 矿区 "
    "农村地区 贫困地区 边疆地区 民族地区 沿海地区 内陆地区".split()
)
_PLACE_WORD = re.compile(r"[\u4e00-\u9fff]{1,4}(?:省|市|县|区)")
# industries the ledger and the policies name (also the ledger's condition words, rag.projects)
INDUSTRIES = (
    "新材料 新能源汽车 新能源 汽车零部件 汽车装备制造 汽车 高端装备 装备制造 智能制造 电子信息 半导体 生物医药 "
    "医疗科技 医疗器械 医疗 医药 商业航空航天 航空航天 大数据 云计算 人工智能 智能终端 物联网 现代农业 绿色食品 "
    "食品 文化旅游 现代物流 物流 金融 高科技 纺织 机绣 汝绣 化工 康养 风电 光伏 储能 氢能"
).split()
_KNOWN_INDUSTRY = "|".join(sorted(INDUSTRIES, key=lambda w: (-len(w), w)))
_SLOTS: list[tuple[str, re.Pattern[str]]] = [
    ("group", re.compile(rf"(?:招商)?{_NUM}组")),
    ("ordinal", re.compile(rf"第{_NUM}[改条项点章节款]")),
    ("year", re.compile(r"(?:19|20)\d{2}年")),
    ("quote", re.compile(r"[“\"「][^”\"」]{1,20}[”\"」]")),
    ("mechanism", re.compile(r"[\u4e00-\u9fff]{2,6}?机制")),
    ("industry", re.compile(rf"(?:{_KNOWN_INDUSTRY})(?:产业|行业)?"
                            r"|[\u4e00-\u9fff]{2,8}?(?:产业|业)(?=方面|领域|$|[^\u4e00-\u9fff]|[重方在中里的上])")),
    ("place", _PLACE),  # plus segmenter words ending in 省/市/县/区, see _places
]
_PRONOUN = re.compile(r"^(?:那么?|那)?(?:它们|它|其|该组|该市|该项目|该机制|这个|那个|这项|该)")
_LEAD = re.compile(r"^(?:那么|那|还有|另外|再问一下|请问)[，,]?")
_TAIL = re.compile(r"(?:方面|这方面|的情况|情况)?(?:呢|吗)?[？?。！!\s]*$")
_BOUNDARY_BEFORE = "的里中在与和及、，,“”：:（）() "
_QUESTION_WORDS = re.compile(r"哪些|哪个|哪位|哪里|哪儿|什么|多少|多久|多长|几|怎么|如何|是否|谁|吗|呢|[？?]")


def _slot(text: str) -> tuple[str, str] | None:
    """The first typed entity in ``text`` (type, surface)."""
    for name, pat in _SLOTS:
        m = pat.search(text)
        if m:
            return name, _trim(name, m.group(0))
    places = _places(text)
    return ("place", places[0]) if places else None


def _trim(name: str, surface: str) -> str:
    """Cut a greedy-from-the-left match back to its last boundary ("里的信息联络机制" → "信息联络机制")."""
    if name in ("mechanism", "industry"):
        cut = max(surface.rfind(c) for c in _BOUNDARY_BEFORE)
        surface = surface[cut + 1 :]
        place = _PLACE.match(surface)
        if place and place.end() < len(surface) - 1:
            surface = surface[place.end() :]
    return surface


def _find_typed(text: str, name: str) -> list[str]:
    if name == "place":
        return _places(text)
    pat = dict(_SLOTS)[name]
    return [_trim(name, m.group(0)) for m in pat.finditer(text)]


def _places(text: str) -> list[str]:
    """Place names in order: known names, and segmenter words ending in 省/市/县/区."""
    import rjieba

    found: list[tuple[int, str]] = [(m.start(), m.group(0)) for m in _PLACE.finditer(text)]
    pos = 0
    for word in rjieba.cut(text):
        if _PLACE_WORD.fullmatch(word) and word not in _NOT_PLACES and not word.startswith(("各", "全", "本", "我", "该")) and not any(s <= pos < s + len(w) for s, w in found):
            found.append((pos, word))
        pos += len(word)
    return [w for _, w in sorted(found)]


def is_followup(question: str) -> bool:
    """Short elliptical or pronoun-led questions lean on the conversation."""
    q = question.strip()
    if _PRONOUN.match(q):
        return True
    if re.search(r"呢[？?]?\s*$", q) and len(q) <= 16:
        return True
    if bool(_LEAD.match(q)) and len(q) <= 16:
        return True
    # a bare predicate with no subject of its own: "报给哪里？", "具体要多久？"
    bare = re.sub(r"[^\u4e00-\u9fff\w]", "", q)
    return len(bare) <= 8 and bool(_QUESTION_WORDS.search(q)) and _slot(q) is None


def rewrite_followup(question: str, history: Sequence[str]) -> str:
    """A standalone question from a follow-up and the earlier user turns (oldest first).

    rewrite_followup("那招商七组呢？", ["焦作招商六组的牵头领导是谁？"]) → "焦作招商七组的牵头领导是谁？"
    """
    q = question.strip()
    turns = [t.strip() for t in history if t and t.strip()]
    if not turns or not is_followup(q):
        return q
    prev = turns[-1]
    if len(turns) > 1:
        prev = rewrite_followup(prev, turns[:-1])

    pronoun = _PRONOUN.match(q)
    if pronoun:
        topic = _topic(prev)
        if topic:
            return topic + q[pronoun.end() :]
        return f"{prev.rstrip('？?。')}，{q[pronoun.end():]}"

    body = _TAIL.sub("", _LEAD.sub("", q))
    predicate = ""
    for marker in ("是怎么", "怎么", "如何", "具体", "是什么", "有哪些", "是谁", "是多少", "多少", "指什么"):
        i = body.find(marker)
        if i > 0:
            body, predicate = body[:i], body[i:]
            break
    new = _slot(body)
    if new is None and body and _QUESTION_WORDS.search(body + predicate):
        # its own question about the previous topic: asked first, the topic as context
        return f"{body}{predicate}？（{prev.rstrip('？?。')}）"
    if new is None:
        return f"{prev.rstrip('？?。')}（{body}）？" if body else prev
    name, surface = new
    olds = _find_typed(prev, name)
    if name == "place":
        # a city replaces a city, a bloc a bloc: "承德呢" after "河北石家庄…" swaps 石家庄
        olds = [o for o in olds if _place_level(o) == _place_level(surface)] or olds
    if not olds:
        return f"{surface}{predicate}（{prev.rstrip('？?。')}）？" if predicate else f"{prev.rstrip('？?。')}（{surface}）？"
    old = olds[-1] if name in ("mechanism", "quote") else olds[0]
    if name == "group" and not surface.startswith("招商") and old.startswith("招商"):
        surface = "招商" + surface  # "那五组呢" after "招商四组…"
    rewritten = prev.replace(old, surface, 1)
    if predicate and not prev.rstrip("？?。").endswith(predicate):
        # the follow-up asks its own question about the new entity: keep the old context
        # words for retrieval but the follow-up's predicate for the meaning.
        context = _QUESTION_WORDS.sub("", rewritten.replace(surface, "")).strip("，,。 ")
        return f"{surface}{predicate}？（{context}）" if context else f"{surface}{predicate}？"
    return rewritten


def _place_level(name: str) -> str:
    if re.fullmatch(rf"(?:{_BLOCS})(?:地区)?", name):
        return "bloc"
    if re.fullmatch(rf"(?:{_PROVINCES})(?:省|自治区)?", name) and name not in ("北京", "天津", "上海", "重庆"):
        return "province"
    if name.endswith(("区", "县")):
        return "county"
    return "city"


def _topic(prev: str) -> str:
    """The subject of the previous question: up to and including its first typed entity."""
    for name, pat in _SLOTS:
        m = pat.search(prev)
        if m and name != "year":
            return prev[: m.end()]
    return ""
