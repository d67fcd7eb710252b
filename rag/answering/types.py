"""Answer types: what a question asks for, and whether a piece of evidence holds it.

A question for a figure ("多少万元", "几家", "什么时候前") is only answered by evidence that
contains a span of that kind; a passage on the right topic without it is answered in part
("资料写明了……，但未写明具体金额"). Types without a checkable span (a list, a mechanism, a
yes/no, a plain fact) shape how the answer is built instead.

    answer_type("县区一把手一年要花多少时间出去招商？").name → "duration"
    answer_type("招商六组归哪个部门牵头？").name → "unit"
    holds("duration", "全年外出实质招商要不少于1/4时间") → True

The patterns are the genre's ways of asking and of stating figures, not any document's
words. The first matching type decides ("多久报送一次" is a frequency, not a duration).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

_NUMERAL = r"[\d一二三四五六七八九十百千万两〇零.．]+"
# a named person as policy texts name one: "牵头领导：李民生", "市委书记陈天富，", "孙起鹏同志", "由张三担任"
_ROLE = r"(?:书记|副?市长|副?省长|副?主任|副?局长|主席|总理|部长|厅长|董事长|总经理|组长)"
_NAME = (
    r"(?:领导|负责人|联系人|组长|联络员)[：:][\u4e00-\u9fff]{2,3}|"
    + _ROLE
    + r"[\u4e00-\u9fff]{2,3}(?:[，,、。表强介说]|同志)|"
    r"(?:^|[，,、。：:\s（(])(?![\u4e00-\u9fff]{0,2}(?:负责|领导))[\u4e00-\u9fff]{2,3}同志|由[\u4e00-\u9fff]{2,3}(?:同志)?担任"
)
_NUM_UNIT = r"[余多来]?"


@dataclass(frozen=True)
class AnswerType:
    name: str  # person unit amount share count quantity penalty duration date frequency place list mechanism yesno fact
    label: str  # how a partial answer names what is missing: "具体金额"
    asks: re.Pattern[str] | None
    span: re.Pattern[str] | None  # what evidence of this type contains; None = nothing to check

    @property
    def checkable(self) -> bool:
        """Whether evidence can be told to lack this type (a figure, a date, a frequency)."""
        return self.name in FIGURES


FIGURES = frozenset(
    {
        "contact",
        "amount",
        "share",
        "count",
        "quantity",
        "penalty",
        "duration",
        "year",
        "date",
        "frequency",
        "place",
        "person",
    }
)
# a post named instead of a person ("组长由市长担任", "由分管副市长牵头"): an answer to who-questions too
# (not "主要负责同志", "分管领导": every sentence about duties names those)
_POST = r"(?:常务)?副?(?:书记|市长|省长|县长|区长|主任|局长|厅长|部长|主席|秘书长|处长|科长|股长|所长|站长|队长|院长|经理)"
_COUNT_UNITS = "个家项名人次批条所座户处位类种支场期轮列趟架艘辆台套件栋幢间层笔份"

# local governments answer for work too: "各县（市、区）、开发区要…编制出全市靶向项目库"
_LOCAL = re.compile(r"开发区|产业集聚区|各(?:县|区|市|乡镇)|县（市、?区）")
# the posts a who-question names ("组长是谁", "牵头领导由谁担任")
_ASKED_POSTS = "组长|负责人|局长|主任|书记|市长|省长|主席|董事长|总经理|领导|联络员"

TYPES: tuple[AnswerType, ...] = (
    AnswerType(
        # a telephone, a hotline, a website, an e-mail or a street address: "打哪个热线", "在哪个网站查"
        "contact",
        "联系方式",
        re.compile(
            r"电话|热线|网站|网址|邮箱|电子邮件|联系方式|怎么联系|(?:办公|通讯|联系|详细)?地址|办公地点|在哪(?:个|些)?网"
        ),
        re.compile(
            r"(?:https?://|www\.)[\w./-]+|[\w-]+\.(?:gov\.cn|com\.cn|com|cn|org|net)\b|[\w.]+@[\w.]+|"
            r"\d{3,4}[-－—]\d{7,8}|(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)123\d{2}(?!\d)|"
            r"(?:电话|热线|传真)[：:为是]?\s*\d{5,}|"
            r"[\u4e00-\u9fff]{2,}(?:路|街|大道|大街|巷)[\d一二三四五六七八九十]+号|\d+(?:号楼|室)|"
            r"(?<![互物电管])(?<!互联)[\u4e00-\u9fff]{2,8}(?:网站|网)(?=[（(”，。、；]|$)"
        ),
    ),
    AnswerType(
        "frequency",
        "频次",
        re.compile(
            r"多久[^，。？?]{0,8}一次|多长时间[^，。？?]{0,8}一次|隔多久|频次|频率|几次|多少次|"
            r"(?:几|多少)个?(?:月|年|周|天|季度)[^，。？?]{0,3}一次|"
            r"(?:每|一)(?:年|月|季度?|周)[^，。？?]{0,6}(?:几|多少)回"
        ),
        re.compile(
            r"每(?:双?月|个?季度|年|周|半年|旬|天|日|月)|季度|半年|定期|月度|年度|[一两二三四五六七八九十\d]+次"
        ),
    ),
    AnswerType(
        "duration",
        "时长",
        re.compile(
            r"多少(?:天|时间|个?月|年|周|小时)|多久|多长时间|(?<![这那前近头])几(?:天|个月|年|周|小时)|多长(?:的)?(?:时间|周期)|"
            r"用了?多长|花了?多长|要花多少"
        ),
        # "3年", "三个月", "150天" — not a year such as "2017年"
        re.compile(
            r"(?<![\d一二三四五六七八九〇零○])(?:\d{1,3}|[一二三四五六七八九十两半]+)"
            r"(?:天|个月|年|小时|周|工作日|日)(?!\d)|\d+/\d+|分之[一二三四五六七八九十]"
        ),
    ),
    AnswerType(
        "year",
        "年份",
        re.compile(r"哪一?年|哪个年份|什么年份|几几年|(?:哪|什么)年(?:份|度)"),
        re.compile(
            r"(?:19|20)\d{2}年|[一二〇零○][一二三四五六七八九〇零○]{3}年|今年|去年|明年|当年|前年"
        ),
    ),
    AnswerType(
        "date",
        "时间",
        re.compile(
            r"什么时候|何时|哪一?年|几月|几号|什么时间|什么日期|哪天|时限|期限|截止|最晚|最迟|"
            r"(?:之前|以前|前)(?:要|须|需|得)?(?:完成|报送|上报|提交|报)|哪个月"
        ),
        re.compile(
            r"(?:19|20)\d{2}年|\d{1,2}月|[一二三四五六七八九十]+月|月底|年底|年末|季末|季度末|月末|次月|"
            r"每年|每月|当年|当月|之前|以前|日前|[\d一二三四五六七八九十]+日|[\d一二三四五六七八九十]+号|"
            r"年初|年中|上半年|下半年|月初|月中|季初|[一二三四]季度|世纪"
        ),
    ),
    AnswerType(
        "count",
        "数量",
        # not "这几项" (a reference to what was said: "以上这几项…多花了多少")
        # not "多少个亿" (a sum of money)
        re.compile(rf"(?<![哪这那])(?:多少|几)[{_COUNT_UNITS}](?!目|百分点|亿|万元)"),
        re.compile(_NUMERAL + _NUM_UNIT + rf"[{_COUNT_UNITS}大]"),
    ),
    AnswerType(
        "amount",
        "金额",
        re.compile(
            r"(?:多少|(?<!哪)几)(?:万|亿|千|百)?(?:美?元|块钱)|多少钱|金额|多少资金|资金(?:有)?多少|"
            r"(?:多少|几)个?亿|多少[^，。？?]{0,3}费|费[^，。？?]{0,3}多少|"
            r"投(?:资)?(?:额|了|是|为|有|达)?多少|多少投资|总投资|"
            r"(?:奖|补|资助|扶持|补贴|奖励|补助)[^，。？?]{0,6}(?:多少|几)|"
            r"多少[^，。？?]{0,4}(?:补贴|奖励|补助|资金|经费|费用|奖金)|"
            r"给多少|拿多少|多大(?:的)?(?:规模|投资)|规模[^，。？?]{0,4}多大|"
            # the fiscal figures of a budget or a report: "专项债券多少", "中央财政赤字打算安排多少"
            r"(?:债券?|国债|赤字(?!率)|预算|支出|收入|经费)[^，。？?率]{0,8}多少"
        ),
        # "38万平方米", "1910万吨", "5万人次" are no sums of money: 万/亿 count money only when no
        # other measure follows
        re.compile(
            _NUMERAL
            + r"(?:万|亿|千|百)?(?:美元|元)|"
            + _NUMERAL
            + r"(?:万|亿)(?![人平亩吨千瓦辆台套户个家项条次名件只头株册本部标箱座间张公])"
        ),
    ),
    AnswerType(
        "share",
        "比例",
        re.compile(
            r"比例|百分之几|多少%|占比|几成|(?:增长|下降|提高|降低|增加|减少)(?:了)?(?:多少|几)|"
            r"涨幅|增幅|增速|多少个百分点|"
            r"率[^，。？?]{0,8}多少"  # "赤字率多少", "失业率目标是多少"
        ),
        re.compile(
            r"\d+(?:\.\d+)?%|百分之|分之|(?<![\d./])\d{1,3}/\d{1,3}(?![\d/])|"  # "1/4", not a date "2020/3/1"
            + _NUMERAL
            + r"成|百分点|"
            + _NUMERAL
            + r"倍"
        ),
    ),
    AnswerType(
        # what follows a breach: "达不到会受到什么处罚" is answered by a sentence that says so
        "penalty",
        "处罚规定",
        re.compile(
            r"(?:什么|哪些|怎么|如何|怎样)(?:样的)?(?:处罚|处分|惩罚|惩戒|后果|问责)|"
            r"受到[^，。？?]{0,4}(?:处罚|处分|惩罚|问责)|被(?:处罚|处分|问责|追责)"
        ),
        re.compile(
            r"处罚|处分|惩罚|惩戒|问责|追责|追究|通报|约谈|罚款|罚金|警告|撤销|取消|吊销|降级|免职|"
            r"扣分|扣减|扣除|收回|退还|追回|黑名单|失信|责令|依法|法律责任"
        ),
    ),
    AnswerType(
        # a figure of no stated measure: "年度目标是多少", "定的多少"
        "quantity",
        "数字",
        re.compile(r"多少(?![钱])"),
        re.compile(
            r"\d|百分之|分之|[一二三四五六七八九十百千]+(?:万|亿|倍|成)|"
            r"[一二三四五六七八九十百千万两]{2,}[个项家人元吨亩台辆座所]"
        ),
    ),
    AnswerType(
        "person",
        "人员",
        re.compile(
            rf"(?:{_ASKED_POSTS})[^，。？?]{{0,3}}(?:是谁|由谁|是哪位|谁)|"
            r"由谁担任|谁担任|由谁当|谁(?:来)?当|谁任|哪位|叫什么名字|(?<!单位)(?<!部门)(?<!机构)是谁(?!家)"
        ),
        re.compile(_NAME + "|" + _POST),
    ),
    AnswerType(
        "unit",
        "单位",
        re.compile(
            r"哪个(?:单位|部门|局|机构|委|办)|哪些(?:单位|部门|机构)|什么(?:单位|部门|机构)|哪家|"
            r"(?:牵头|责任|主管|主办|配合)单位|归哪|由哪|"
            # an agent asked with 谁 or 哪里: "由谁来审定", "要报哪里审批", "向哪里报告"
            r"由谁|谁来|(?:报|送|交|报送|上报|提交|呈报)(?:给|到|至)?哪里|向哪里|哪里(?:审批|批准|审定|认定|受理)"
        ),
        re.compile(
            r"[局委办厅部院所行会社]|中心|公司|集团|政府|单位|部门|机构|管委会|平台|"
            + _LOCAL.pattern
        ),
    ),
    AnswerType(
        "place",
        "地点",
        re.compile(
            r"落(?:户|地|在)(?:在)?哪|建在哪|设在哪|在哪个?(?:县|区|市|省|县区)|"
            r"哪个(?:省|市|县|区|县区|城市)|哪些(?:城市|省|县区|市)"
        ),
        None,
    ),
    AnswerType(
        "list",
        "",
        re.compile(
            r"哪些|哪几|哪[二三四五六七八九十两\d]+[个项类条张大种]|分别|包括什么|包括哪|有几[个项类条大种]|指哪|都有什么|"
            r"有什么(?:措施|办法|举措|内容|要求|做法)"
        ),
        None,
    ),
    AnswerType(
        "mechanism",
        "",
        re.compile(
            r"怎么回事|如何运作|怎么运作|怎么运转|如何运转|怎么(?:搞|弄|做|办|干|开展|推进|落实|操作|分工|安排|组织|运行)|如何(?:做|开展|推进|落实|分工|安排|组织|运行)|"
            r"怎样(?:做|开展|推进|运作)?(?![的地])|什么机制|机制是什么|是什么样|有什么(?:机制|安排)|做法|流程|步骤|程序|思路|路子"
        ),
        None,
    ),
    AnswerType(
        "yesno",
        "",
        re.compile(
            r"是否|能不能|可不可以|有没有|是不是|要不要|需不需要|需要.{0,10}吗|可以.{0,10}吗|能.{0,10}吗"
        ),
        None,
    ),
)
FACT = AnswerType("fact", "", None, None)
# a question for a way of doing something — a procedure, steps, conditions — whose answer is a
# whole enumeration when the evidence is one of its items ("异地就医网上备案流程" → steps (1)…(5))
PROCEDURE = re.compile(
    r"怎么(?:做|办|弄|操作|申请|办理|处理|备案|报名|认定)|如何(?:做|办|操作|申请|办理|处理|备案|报名|认定)|"
    r"怎样(?:做|办|操作|申请|办理|处理)|流程|步骤|程序|手续|(?:哪些|什么|何种)条件|符合[^，。？?]{0,8}条件"
)


def asks_procedure(question: str) -> bool:
    """Whether the question asks how something is done, step by step or by its conditions.

    asks_procedure("参保人员异地就医网上备案流程") → True; asks_procedure("招商六组的牵头领导是谁？") → False
    """
    return bool(PROCEDURE.search(question))


_CONTEXT = re.compile(r"（[^）]*）")


def own_question(question: str) -> str:
    """The question without the context a follow-up's rewrite carries in brackets — what the
    turn itself asks: own_question("报给哪里？（每个月几号前要报）") → "报给哪里？"."""
    return _CONTEXT.sub("", question)


_HOW = re.compile(r"如何|怎么(?!样)|怎样|哪些措施|什么措施|什么办法|哪些办法")


def asks_how(question: str) -> bool:
    """Whether the question asks how something is done — a procedure, or a way or measures:
    asks_how("普通人应该如何预防禽流感？") → True; asks_how("招商六组的牵头领导是谁？") → False."""
    return asks_procedure(question) or bool(_HOW.search(own_question(question)))


_BY_NAME = {t.name: t for t in TYPES}


def answer_type(question: str) -> AnswerType:
    """The first type whose asking pattern the question matches, else ``fact``.

    Context a follow-up carries in brackets does not decide: "报给哪里？（每个月几号前要报）"
    asks for a unit, not a date.
    """
    own = own_question(question)
    for t in TYPES:
        if t.asks is not None and t.asks.search(own):
            return t
    return FACT


def asked_types(question: str) -> list[AnswerType]:
    """Every type the question asks for, in the order of ``TYPES``: "由谁牵头、哪个单位牵头" → person, unit."""
    return [t for t in TYPES if t.asks is not None and t.asks.search(question)]


def holds(type_name: str, text: str, question: str = "") -> bool:
    """Whether ``text`` contains a span of the type (True for types with nothing to check).

    A place is a named place other than those the question names itself, of the level it asks
    ("哪个区" → a county or district); a count needs the question's own measure word ("几家" →
    "N家").
    """
    # full-width figures of older documents ("９．７％", "６２１亿元") are figures too
    text = unicodedata.normalize("NFKC", text)
    if type_name == "place":
        from rag.lexicon.places import find_places, place_level

        found = set(find_places(text)) - set(find_places(question))
        level = next((lv for lv, asks in _PLACE_LEVELS if asks.search(question)), "")
        return any(not level or place_level(p) == level for p in found)
    if type_name == "person" and question and _BARE_WHO.search(question):
        # "是谁负责编出来的": a bare 谁 is answered by a unit as well ("各县（市、区）、开发区")
        if names_agency(text):
            return True
    if type_name in ("year", "date") and question and not _FUTURE.search(question):
        # "是哪一年获批的" asks when something happened: "到2020年" is a target, not that year
        text = _TARGET_YEAR.sub("", text)
    if type_name == "count" and question and not holds_count(question, text):
        return False
    if type_name == "quantity" and question and not holds_measure(question, text):
        return False
    t = _BY_NAME.get(type_name)
    return t is None or t.span is None or bool(t.span.search(text))


# a question for a year to come ("预计哪一年建成"), and a target year of the text ("到2020年")
_FUTURE = re.compile(
    r"预计|计划|打算|力争|目标|要在|将在|能在|争取|截止|到哪一?年|哪一?年(?:前|之前|以前)"
)
_TARGET_YEAR = re.compile(r"(?:预计|力争|计划|争取)?到(?:19|20)\d{2}年(?:底|末)?")


# the level a place question asks for: "设在上海哪个区" is not answered by "浙江、福建"
_PLACE_LEVELS = (
    ("county", re.compile(r"哪(?:个|些|一)?(?:区|县|县区|区县)(?![域级])")),
    ("province", re.compile(r"哪(?:个|些|一)?省(?![级份])")),
)
_BODIES = frozenset("部门 单位 机构 处室 科室".split())
_FIELD = re.compile(r"(?:^|[；;\n])\s*[\u4e00-\u9fff]{2,6}[：:]")
_SENT = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")
# clauses end at "，" and "：", not at the enumeration comma "、" ("上海、浙江、福建等30余地市" is one)
_CLAUSES = re.compile(r"[^，,：:]+[，,：:]?")


_AGENTS = ("unit", "person")
# an agency is a word of its own with an agency's ending ("科技厅", "商务局"), or a local
# government ("各县（市、区）、开发区") — not any character that may end one (实行, 社会)
_AGENCY = re.compile(
    r"(?:局|厅|委|办|研究院|研究所|中心|公司|集团|政府|管委会|协会|商会|委员会|银行|部门)$"
)


def names_agency(text: str, local: bool = True) -> bool:
    """Whether ``text`` names an agency (or, with ``local``, a local government):
    names_agency("近日，河北省科技厅发布消息") → True,
    names_agency("实行“一站式”全程代理式服务") → False."""
    import rjieba

    return bool(local and _LOCAL.search(text)) or any(
        len(w) >= 3 and _AGENCY.search(w) for w in rjieba.cut(text)
    )


# a 谁 that names no person's post or name: "是谁负责", "谁出面牵头" (not "组长是谁", "哪位")
_BARE_WHO = re.compile(
    rf"^(?!.*(?:{_ASKED_POSTS}|哪位|名字|同志))"
    r".*(?:是谁|由谁|谁)(?!家)"
)


def holds_near(type_name: str, text: str, anchor: str, question: str = "") -> bool:
    """``holds`` within the clause naming ``anchor`` and its neighbours, in the same sentence.

    An amount in a sentence is only the asked project's amount when it stands next to it:
    holds_near("amount", "洽谈项目37个，推动盘毂动力…签约落地，签约总金额592.6亿元。", "盘毂") → False
    """
    if not anchor or anchor not in text or len(_FIELD.findall(text)) >= 2:
        # a record of labelled fields ("重点任务：…；牵头单位：…；完成时限：…") is one statement
        return holds(type_name, text, question)
    for sent in _SENT.findall(text):
        if anchor not in sent:
            continue
        clauses = _CLAUSES.findall(sent)
        for i, clause in enumerate(clauses):
            near = "".join(clauses[max(0, i - 1) : i + 2])
            if type_name in _AGENTS:
                # the agent of a long sentence is its subject, at its head: "各县（市、区）、
                # 开发区要结合…，…，编制出全市靶向项目库"
                near = clauses[0] + near
            if anchor in clause and holds(type_name, near, question):
                return True
    return False


def unlisted(question: str, quotes: list[str]) -> bool:
    """A question for N named items ("哪五张清单", "那20个园区都是哪些") that the quotes do not
    enumerate.

    Enumerated means N items (at most five needed): as separate quotes, or "、"-separated in
    one clause.
    unlisted("“五单”具体是哪五张清单？", ["严格执行“五单一网”制度，…"]) → True
    """
    m = re.search(r"哪([二三四五六七八九十两\d]+)[个项类条张种大家位]", question) or re.search(
        # "那20个示范园区具体都是哪些": the items of a set the question counts itself
        r"([二三四五六七八九十两]|\d{1,2})[个项类条张种家所座][^，。？?]{1,12}?(?:具体)?(?:都|分别)?(?:是|有|包括|指)哪些",
        question,
    )
    if not m:
        return False
    n = small_number(m.group(1))
    if n is None:
        return False
    need = min(n, 5)  # a long list is enumerated when at least five of its items are quoted
    if len(quotes) >= need:
        return False
    widest = max(
        (len(c.split("、")) for q in quotes for c in re.split(r"[，,；;。：:]", q)), default=0
    )
    return widest < need


def small_number(s: str) -> int | None:
    """ "五" → 5, "十二" → 12, "7" → 7; None for anything larger or odd."""
    if s.isdigit():
        return int(s)
    digits = dict(zip("一二两三四五六七八九", (1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
    if s == "十":
        return 10
    if len(s) == 1:
        return digits.get(s)
    if s.startswith("十"):
        return 10 + digits.get(s[1], 0)
    return None


# measures a quantity is asked in ("占地多少亩"); the asked figure comes in the same measure
_MEASURES = (
    "平方公里|平方米|平方|公顷|亩|公里|千米|米|吨|千瓦时|千瓦|兆瓦|瓦|度|立方米|升|标箱|"
    "人次|人|户|床|万人|千克|公斤|克|小时|吨标准煤"
)


def holds_measure(question: str, text: str) -> bool:
    """A quantity asked in a measure ("多少亩") is answered by a number in that measure
    (万/亿 allowed before it): holds_measure("占地多少亩", "规划面积1.2万亩") → True,
    holds_measure("占地多少亩", "打造5个战略高地") → False."""
    m = re.search(rf"多少(?:万|亿)?({_MEASURES})", question)
    if not m:
        return True
    return bool(re.search(rf"{_NUMERAL}(?:万|亿)?{m.group(1)}", text))


def holds_count(question: str, text: str) -> bool:
    """A count question is answered by a number with its own measure word ("几家" needs "N家")
    and, when the question names what is counted, that noun ("几个办事处" needs 办事处)."""
    m = re.search(rf"(?<!哪)(?:多少|几)([{_COUNT_UNITS}])([\u4e00-\u9fff]{{0,8}})", question)
    if not m:
        return True
    if re.match(
        r"人(?![才员民口])", m.group(2)
    ):  # "配几个人": people ("5人", "3名"), not "一个项目"
        return bool(re.search(_NUMERAL + _NUM_UNIT + r"(?:个人|名|位|人)", text))
    # 个 is the measure of anything: "几个基金" is answered by "一只基金"
    measure = f"[{_COUNT_UNITS}只]" if m.group(1) == "个" else m.group(1)
    if not re.search(_NUMERAL + _NUM_UNIT + f"(?:{measure}|大)", text):
        return False
    nouns = _counted_nouns(m.group(2))
    if not nouns:
        return True
    # units of government are counted under any of their names ("多少个部门" ← "32个相关职能单位")
    return any(n in text or (n in _BODIES and any(b in text for b in _BODIES)) for n in nouns)


@functools.lru_cache(maxsize=256)  # asked once per unit of the question's passages
def _counted_nouns(after: str) -> tuple[str, ...]:
    """The nouns right after a count's measure word, each by its last two characters — the
    run ends at the first word that is no noun:
    "企业表态要进驻" → ("企业", "表态"); "部门去落实" → ("部门",); "作为主攻对象" → () (a verb
    first: what is counted is not named)."""
    import rjieba

    out = []
    for word, tag in rjieba.tag(after):
        if not tag.startswith("n") or len(word) < 2:
            break
        out.append(word[-2:])
    return tuple(out)
