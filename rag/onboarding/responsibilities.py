"""Who does what: responsibility records read from a document's chunks.

Three patterns of the genre, nothing from the names of particular files:

- **label lines** of a notice's groups and of task-table rows rendered by the 分工表 loader:
  ``牵头单位：市商务局。`` / ``序号：2；重点任务：编制…；牵头单位：市发展改革委；完成时限：2020年6月底前。``
  A label ending in 领导/单位/部门/处室 (or 主办, 协办, 督办, 承办, 配合) names actors; a label
  naming a task or duty (职责, 任务, 事项, 内容) gives the duty; one naming a time (时限, 时间,
  期限, 节点) the deadline. These are read in every kind of document.
- **subject sentences** of normative documents (a notice, anything with a 文号): a clause that
  opens with a list of units and a modal, ``市财政局要统筹安排开放招商工作经费`` (负责),
  ``市对外开放领导小组办公室、市商务局要发挥牵头抓总作用`` (牵头), ``由市、县主管部门牵头发动组织``,
  ``A牵头，B配合``.
- **reporting**: ``每月25日前向A、B报送…`` (the subject 报送, A and B 接收报送, with the deadline),
  ``及时上报市商务局``, ``市委、市政府每双月听取一次各招商小组…汇报`` (听取汇报 / 汇报).

Actors are normalised within the document's region: 焦作市商务局, 市商务局 and 商务局 (in a list
that began with 市…) are one actor, key ``焦作市|商务局``, shown as 市商务局. It does not resolve
pronouns across sentences beyond the subject of the previous clause of the same passage, and
it does not read duties out of experience articles' running prose (they describe, not assign).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rag.answer import sentences
from rag.onboarding.records import Passage, Responsibility

SEP = " › "

# a label line "牵头单位：市商务局。"; a table row holds several, separated by "；"
_LABEL = re.compile(r"^(?P<label>[\u4e00-\u9fff]{2,8})[：:](?P<value>.+)$")
_ROLE_LABEL = re.compile(
    r"(领导|单位|部门|处室|科室|机构|主办|协办|督办|承办|会办|配合|负责人|责任人|联系人)$"
)
_DOCUMENT_LABELS = ("主办", "协办", "督办", "承办", "会办")
_TASK_LABEL = re.compile(r"(职责|任务|事项|内容|措施|工作)$")
_TIME_LABEL = re.compile(r"(时限|时间|期限|节点|进度|完成)")

# deadlines and frequencies: 每月25日前, 每双月, 每季度, 年底前, 次月10日前, 2020年6月底前, 及时, 定期
DEADLINE = re.compile(
    r"(?:每(?:个)?(?:双月|月|季度|季|半年|年|周|旬)(?:末|底|初)?(?:\d{1,2}日)?(?:前|之前)?"
    r"|次月\d{1,2}日(?:前|之前)?"
    r"|\d{4}年(?:\d{1,2}月)?(?:\d{1,2}日|底|末|上半年|下半年)?(?:前|之前|以前)"
    r"|(?:年底|年末|年初|年中|月底|季末|半年)(?:前|之前)?"
    r"|全年|定期)"
)

# what an actor's name ends with: a body, a collective, or a person's post
_ACTOR_END = re.compile(
    r"(局|委|办|厅|处|室|科|中心|管委会|委员会|政府|部门|单位|社|联|小组|领导|同志|负责人|一把手|市长|书记|"
    r"主任|机构|平台|协会|商会|农场|开发区|区|县|（市）区|（[市县区、]{1,4}）)$"
)
_MODAL = r"(?:也|还|都|均|要|应|应当|须|必须|负责|将|牵头|统筹|承担|发挥|配合|协助)"
_CLAUSE_HEAD = re.compile(
    r"^(?:（[一二三四五六七八九十\d]+）|[一二三四五六七八九十]+、|\d+[.．、])"
)
_ORDINAL = re.compile(
    r"^(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十\d]+[、.．]|第[一二三四五六七八九十\d]+[章节条部分]\s*)"
)
_COLLECTIVE = re.compile(r"^各|相关|有关|等部门|等单位$")
_LEADER = re.compile(r"(领导|同志|负责人|一把手|市长|书记|主任)$")
_BODY = re.compile(r"(局|委|办|厅|处|室|中心|管委会|委员会|社|联|农场)$")
_NOT_CITY_PREFIX = "级直委政场区县里内外属"  # 市场监管局, 市级, 市直: 市 is part of the word
_REGION_LEVEL = re.compile(
    r"^(.+?(?:省|自治区))?(?P<city>.+?(?:市|州|盟|地区))?(?P<county>.+?(?:县|区|旗))?$"
)
_REPORT = re.compile(r"(?:向|报|给)(?P<to>[^，。；]{2,80}?)(?:报送|上报|报告|汇报|报备|反馈)")
_REPORT_TO = re.compile(
    r"(?:上报|报送|报告|报)(?P<to>[^，。；]{2,40}?)(?:，|。|；|$|审核|备案|纳入)"
)
_HEAR = re.compile(r"听取(?:一次)?")


def city_of(region: str) -> str:
    """The region an actor belongs to: the city of a document's region, else the region.

    "河南省焦作市" → "焦作市"; "河南省汝州市" → "汝州市"; "河北省" → "河北省"; "" → ""
    """
    m = _REGION_LEVEL.match(region or "")
    if m and m.group("city"):
        return m.group("city")
    return region or ""


def scope_of(section_path: str) -> str:
    """The group or task a section is about: its last heading without ordinal or stop.

    "一、成立7个招商小组 › （二）招商二组。" → "招商二组"; "附件 重点任务分工表 › 第2行" → "重点任务分工表"
    """
    parts = [p.strip() for p in section_path.split(SEP) if p.strip()] if section_path else []
    if not parts:
        return ""
    last = parts[-1]
    if re.fullmatch(r"第\d+行", last) and len(parts) > 1:  # a table row: the table is the scope
        last = parts[-2].split(" ")[-1]
    return _ORDINAL.sub("", last).rstrip("。.：: ")


def split_actors(text: str) -> list[str]:
    """A list of units split on 、，, and 及 outside brackets; bare 市/县 joined to the next.

    "市金融工作局、卫生健康委、商务局及相关市直单位，各县（市）区" → ["市金融工作局", "卫生健康委",
    "商务局", "相关市直单位", "各县（市）区"]; "市、县主管部门" → ["市、县主管部门"]
    """
    items: list[str] = []
    depth, cur = 0, ""
    for ch in text:
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth = max(depth - 1, 0)
        if depth == 0 and ch in "、，,；;":
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    out: list[str] = []
    for item in (i.strip().rstrip("。.") for i in items):
        if not item:
            continue
        for part in re.split(r"及其|以及|及", item) if _splits_on_and(item) else [item]:
            part = part.strip()
            if part:
                out.append(part)
    joined: list[str] = []
    for item in out:
        if joined and re.fullmatch(r"[市县区省]", joined[-1]):
            joined[-1] = f"{joined[-1]}、{item}"
        else:
            joined.append(item)
    return joined


def _splits_on_and(item: str) -> bool:
    parts = [p for p in re.split(r"及其|以及|及", item) if p]
    return len(parts) > 1 and all(_ACTOR_END.search(_bare(p)) for p in parts)


def _bare(name: str) -> str:
    return re.sub(r"[“”\"'‘’\s]", "", name)


def is_actor(name: str, weak_ok: bool = False) -> bool:
    """Whether a list item names a body, a collective or a post ("商务局", "各县（市）区"), not a
    phrase that happens to end like one ("市政府每双月听取一次各招商小组", "准确把握国家中心").
    A weak ending (供销社, 博爱农场) counts on its own only with ``weak_ok`` (in a list of units)."""
    bare = _bare(name)
    if not (2 <= len(bare) <= 24 and _ACTOR_END.search(bare)) or re.search(r"[，。；：]", bare):
        return False
    if bare.startswith(_PREPOSITIONS) or _NOT_IN_NAME.search(bare) or DEADLINE.search(bare):
        return False
    return bool(
        weak_ok or _STRONG_END.search(bare) or re.match(r"^(?:各|市|县|区|省|本|国家|中共)", bare)
    )


# words no unit's name holds (verbs of duty, 的); a weak ending (中心, 区, 社…) needs a 市/各/县… start
_NOT_IN_NAME = re.compile(
    r"的|(?<!主)要|应|将|听取|明确|负责(?!同志|人)|把握|开展|推进|加强|实行|\d+名"
)
_STRONG_END = re.compile(
    r"(局|委|办|厅|处|管委会|委员会|政府|部门|单位|小组|领导|同志|负责人|一把手|市长|书记|主任|"
    r"开发区|集聚区|（市）区|（[市县区、]{1,4}）)$"
)


_PREPOSITIONS = ("在", "对", "从", "按", "为", "向", "将", "把", "通过", "围绕", "针对", "依托")


def normalise_actor(
    name: str, region: str, city_level: bool = False, person: bool = False
) -> tuple[str, str, str]:
    """(display name, key within the region, kind) of an actor named in a document of ``region``.

    ("焦作市商务局", "河南省焦作市") → ("市商务局", "焦作市|商务局", "unit");
    ("商务局", "河南省焦作市", city_level=True) → ("市商务局", "焦作市|商务局", "unit");
    ("各县（市）区", "河南省焦作市") → ("各县（市）区", "焦作市|各县（市）区", "collective");
    ("市市场监管局", "河南省焦作市") → ("市市场监管局", "焦作市|市场监管局", "unit")
    """
    city = city_of(region)
    bare = _bare(name)
    bare = re.sub(r"^[\d一二三四五六七八九十两]+(?:位|名|个)", "", bare)
    core = bare
    short = city[:-1] if len(city) > 2 and city[-1] in "市州" else city
    for prefix in (city, short):
        if prefix and core.startswith(prefix) and len(core) > len(prefix) + 1:
            core = core[len(prefix) :]
            city_level = True
            break
    stripped = False
    if core.startswith("市") and len(core) > 2:
        if (
            _BODY.search(core)
            and core[1] not in _NOT_CITY_PREFIX
            and not core.startswith(("市政府", "市人民政府"))
        ):
            core, stripped = core[1:], True
        city_level = True
    if person:
        kind = "leader"
    elif _COLLECTIVE.search(core):
        kind = "collective"
    elif _LEADER.search(core):
        kind = "leader"
    else:
        kind = "unit"
    display = core
    if (
        city_level
        and kind == "unit"
        and _BODY.search(core)
        and city.endswith("市")
        and (stripped or not core.startswith(("市委", "市政府", "市人民政府", "市、")))
    ):  # 市 + 市场监管局
        display = f"市{core}"
    return display, f"{city}|{core}", kind


def _actors(value: str, region: str, person: bool = False) -> list[tuple[str, str, str]]:
    """Normalised actors of a list; a 市 on the first item carries to the items after it."""
    out = []
    city_level = False
    items = split_actors(value)
    listed = len(items) > 1 and any(
        is_actor(i) for i in items
    )  # a list of units: 供销社 is one too
    for item in items:
        bare = _bare(item)
        if person:
            if 1 < len(bare) <= 12:
                out.append(normalise_actor(bare, region, person=True))
            continue
        if not is_actor(bare, weak_ok=listed):
            continue
        starts_city = bare.startswith("市") or bare.startswith(city_of(region))
        if starts_city:
            city_level = True
        elif bare.startswith(("各", "县", "区", "省", "国家", "中共", "相关", "有关")):
            city_level = False
        out.append(normalise_actor(bare, region, city_level=city_level))
    return out


def _deadline(text: str) -> str:
    """The first time limit or frequency in a text: "每月25日前向…报送" → "每月25日前"."""
    m = DEADLINE.search(text)
    return m.group(0) if m else ""


def _record(
    actor: tuple[str, str, str],
    role: str,
    scope: str,
    duty: str,
    deadline: str,
    region: str,
    meta: Mapping[str, Any],
    quote: str,
) -> Responsibility:
    display, key, kind = actor
    return Responsibility(
        actor=display,
        actor_key=key,
        actor_kind=kind,
        role=role,
        scope=scope,
        duty=duty.strip("，。；： "),
        deadline=deadline,
        region=city_of(region),
        passage=Passage.of(meta, quote),
    )


def label_records(body: str, meta: Mapping[str, Any]) -> list[Responsibility]:
    """Records from the label lines of one chunk (a group's block, a table row).

    "（二）招商二组。\\n牵头单位：市商务局。\\n工作职责：重点负责文化旅游…" → [市商务局 牵头单位 of
    招商二组, duty "重点负责文化旅游…", quote "牵头单位：市商务局。"]
    """
    region = str(meta.get("region", ""))
    scope = scope_of(str(meta.get("section_path", "")))
    rows: list[list[tuple[str, str, str]]] = []  # per line: (label, value, quote)
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        pieces = [p for p in re.split(r"[；;]", line) if p.strip()] if "；" in line else [line]
        fields = []
        for piece in pieces:
            m = _LABEL.match(piece.strip())
            if m:
                fields.append(
                    (m.group("label"), m.group("value").strip().rstrip("。."), piece.strip())
                )
        if fields:
            rows.append([(lab, val, line if len(fields) > 1 else q) for lab, val, q in fields])
    if not rows:
        return []
    table_row = any(len(r) > 1 for r in rows)
    block = [f for r in rows for f in r]
    duty = next(
        (v for lab, v, _ in block if _TASK_LABEL.search(lab) and not _ROLE_LABEL.search(lab)), ""
    )
    deadline = next(
        (v for lab, v, _ in block if _TIME_LABEL.search(lab) and not _ROLE_LABEL.search(lab)), ""
    )
    if table_row and duty:
        scope = duty
    out = []
    for label, value, quote in block:
        if not _ROLE_LABEL.search(label):
            continue
        if (
            label in _DOCUMENT_LABELS and not table_row
        ):  # "主办：市商务局" under a notice: the whole notice
            title = str(meta.get("title", ""))
            for actor in _actors(value, region):
                out.append(
                    _record(actor, label, "本文件", f"{label}《{title}》", "", region, meta, quote)
                )
            continue
        person = label.endswith(("领导", "负责人", "责任人", "联系人")) and not is_actor(value)
        for actor in _actors(value, region, person=person):
            out.append(
                _record(
                    actor,
                    label,
                    scope,
                    duty or scope,
                    deadline or _deadline(value),
                    region,
                    meta,
                    quote,
                )
            )
    return out


def sentence_records(body: str, meta: Mapping[str, Any]) -> list[Responsibility]:
    """Records from the sentences of one chunk of a normative document.

    "市对外开放领导小组办公室、市商务局要发挥牵头抓总作用，整合资源" → 市对外开放领导小组办公室 and
    市商务局, role 牵头; "…每月25日前向市对外开放领导小组办公室、市商务局报送本组招商工作开展情况" →
    the senders 报送 and the two recipients 接收报送, deadline 每月25日前.
    """
    region = str(meta.get("region", ""))
    scope = scope_of(str(meta.get("section_path", "")))
    out: list[Responsibility] = []
    subject: list[tuple[str, str, str]] = []
    for line in body.splitlines():
        if _LABEL.match(line.strip()):
            continue
        for clause in sentences(line):
            text = _CLAUSE_HEAD.sub("", clause)
            if len(text) < 6 or (len(text) <= 20 and text.endswith("。") and "，" not in text):
                continue  # a heading sentence ("（三）信息联络机制。")
            deadline = _deadline(text)
            lead, found = _subject(text, region)
            if found:
                subject = found
            for actors, role, duty in lead:
                out += [
                    _record(a, role, scope, duty, deadline, region, meta, clause) for a in actors
                ]
            if re.search(r"及时(?:上报|报送|报告|报)", text) and not deadline:
                deadline = "及时"
            m = _REPORT.search(text) or _REPORT_TO.search(text)
            if m:
                to = _actors(m.group("to"), region)
                if to:
                    out += [
                        _record(
                            a, "接收报送", scope, text[m.start() :], deadline, region, meta, clause
                        )
                        for a in to
                    ]
                    out += [
                        _record(a, "报送", scope, text[m.start() :], deadline, region, meta, clause)
                        for a in subject
                        if a not in to
                    ]
            h = _HEAR.search(text)
            after = text[h.end() :] if h else ""
            heard = lead_actors(after) if after else ""
            if heard and "汇报" in after:
                out += [
                    _record(a, "汇报", scope, text, deadline, region, meta, clause)
                    for a in _actors(heard, region)
                ]
    return out


def lead_actors(text: str) -> str:
    """The longest run of actor names a clause opens with (before its first comma), or "".

    "各招商小组牵头单位明确1名责任领导" → "各招商小组牵头单位"; "市委、市政府每双月听取…" → "市委、市政府"
    """
    head = re.split(r"[，,。；;：:]", text, maxsplit=1)[0][:240]
    for end in range(len(head), 1, -1):
        prefix = head[:end]
        if not _ACTOR_END.search(_bare(prefix)):
            continue
        items = split_actors(prefix)
        if items and all(is_actor(i) for i in items):
            return prefix
    return ""


def _subject(
    text: str, region: str
) -> tuple[list[tuple[list[tuple[str, str, str]], str, str]], list]:
    """The actors a clause opens with and what it makes of them (负责, 牵头, 配合, 听取汇报).

    "年底，市委、市政府将对…予以鼓励激励" → ([([市委, 市政府], "负责", "将对…予以鼓励激励")], [市委, 市政府])
    """
    t = re.sub(r"^(?:" + DEADLINE.pattern + r")，", "", text)
    m = re.match(r"^由(?P<who>[^，。；]{2,60}?)(?P<role>牵头|负责|主办|组织)(?P<rest>.*)$", t)
    if m:
        actors = _actors(m.group("who"), region)
        if actors:
            return [
                (actors, "牵头" if m.group("role") == "牵头" else "负责", m.group("rest") or t)
            ], actors
    m = re.search(r"由(?P<who>[^，。；由]{2,60}?)(?P<role>牵头|负责)(?P<rest>.*)$", t)
    if m and _actors(m.group("who"), region):  # "用地保障由市自然资源局牵头，市财政局配合"
        task = t[: m.start()].strip("，, ") or m.group("rest")
        led = [
            (_actors(m.group("who"), region), "牵头" if m.group("role") == "牵头" else "负责", task)
        ]
        n = re.search(r"[，,](?P<who>[^，。；]{2,60}?)(?:配合|协助|协同)", m.group("rest"))
        if n and _actors(n.group("who"), region):
            led.append((_actors(n.group("who"), region), "配合", task))
        return led, led[0][0]
    who = lead_actors(t)
    if not who:
        return [], []
    actors = _actors(who, region)
    rest = t[len(who) :].lstrip("，,")
    found: list[tuple[list[tuple[str, str, str]], str, str]] = []
    m = re.match(r"^(?:" + DEADLINE.pattern + r")?(?P<modal>" + _MODAL + r")", rest)
    m = m or re.match(r"^[^，。；“”]{0,12}?(?P<modal>要|应当|应|须|必须)", rest)
    if re.match(r"^(?:" + DEADLINE.pattern + r")?听取", rest):
        found.append((actors, "听取汇报", rest))
    elif m:
        role = "负责"
        if re.match(r"^(?:要|应|将)?(?:发挥)?牵头", rest[m.start("modal") :]):
            role = "牵头"
        elif re.match(r"^(?:要|应)?(?:积极)?(?:配合|协助)", rest[m.start("modal") :]):
            role = "配合"
        found.append((actors, role, rest))
        # "A牵头，B配合": the second clause's actors cooperate
        n = re.search(r"[，,](?P<who>[^，。；]{2,60}?)(?:配合|协助|协同)", rest)
        if role == "牵头" and n and _actors(n.group("who"), region):
            found.append((_actors(n.group("who"), region), "配合", rest))
    return found, actors


def normative(meta: Mapping[str, Any]) -> bool:
    """Whether a document assigns duties (a notice, anything with a 文号 such as 焦政办〔2020〕9号),
    not one describing them (an article, a newsletter's issue number)."""
    return meta.get("kind") == "policy_notice" or bool(
        _DOC_NUMBER.search(str(meta.get("doc_number", "")))
    )


_DOC_NUMBER = re.compile(r"[〔\[（(]\d{4}[〕\]）)]\s*\d+\s*号")


def extract(chunks: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Responsibility]:
    """Every responsibility record of one document's chunks (body, metadata), in reading order,
    each (actor, role, scope, chunk) once."""
    out: list[Responsibility] = []
    seen: set[tuple[str, str, str, str]] = set()
    for body, meta in chunks:
        got = label_records(body, meta)
        if normative(meta):
            got += sentence_records(body, meta)
        for r in got:
            key = (r.actor_key, r.role, r.scope, r.passage.chunk_id)
            if key not in seen:
                seen.add(key)
                out.append(r)
    return out


def roles_of(
    records: Sequence[Responsibility], actor: str, region: str = ""
) -> list[Responsibility]:
    """The records of one actor, named as a user would ("焦作市商务局", "商务局", "市商务局")."""
    want = actor_core(actor)
    return [
        r
        for r in records
        if r.actor_key.split("|", 1)[1] == want
        and (not region or region in r.region or r.region in region)
    ]


def actor_core(name: str) -> str:
    """An actor's name without region and 市: "焦作市商务局" → "商务局" (whatever the city)."""
    bare = _bare(name)
    m = re.match(r"^[\u4e00-\u9fff]{2,4}?市(?=.{2,}(?:局|委|办|厅|中心|社))", bare)
    if m and not bare.startswith("市"):
        bare = bare[m.end() :]
    if (
        bare.startswith("市")
        and not bare.startswith(("市委", "市政府", "市人民政府"))
        and len(bare) > 2
    ):
        bare = bare[1:]
    return bare
