"""新人入门: the responsibility map, the glossary and the overviews, extracted from real text.

A notice written for this test (a city, names and groups that are in no corpus file) runs
through the pure functions and through a real ingest; the 7+X notice of corpus/ is checked
against its own text, parsed here independently of the extractor; the REST routes are
called over real HTTP, the CLI as a subprocess, the XLSX export read back with openpyxl.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from app import create_server
from rag.onboarding import glossary, responsibilities
from rag.onboarding.answer import answer as map_answer
from rag.onboarding.export import COLUMNS
from rag.service import PolicyQA
from rag.settings import Settings
from rag.store.embeddings import E5Embeddings
from tests.conftest import CORPUS, ROOT
from tests.servers import LiveServer

NOTICE = "002_b5bc0298a6f5538a"

TEST_NOTICE = """洛河市人民政府办公室文件
洛政办〔2021〕5号
洛河市人民政府办公室关于建立重点项目“1+3”推进机制的通知
各县（区）人民政府，市人民政府各部门：
为加快重点项目落地见效，经市政府同意，决定建立重点项目“1+3”推进机制。
一、组建1个项目推进专班
（一）专班组成。
牵头领导：欧阳明远。
牵头单位：洛河市商务局。
责任单位：市发展改革委、自然资源局、商务局及相关市直单位，各县（区）。
工作职责：负责重点项目的统筹调度和跟踪服务。
二、建立3项配套制度
（一）周例会制度。市商务局要每周召开一次项目推进例会，研究解决项目推进中的问题。
（二）信息报送制度。各县（区）明确1名联络员，每季度末前向市商务局报送项目进展情况。
（三）要素保障制度。用地保障由市自然资源局牵头，市财政局配合。项目推进办公室（以下简称“项目办”）设在市商务局。
所谓“拎包入住”，是指企业签约后即可入驻标准厂房、当月投产。
洛河市人民政府办公室
2021年4月2日印发
"""
CATALOG = (
    "file,starts_at,doc_id,title,kind,issuer,doc_number,date,region\n"
    "洛河通知.txt,,luohe_notice,洛河市人民政府办公室关于建立重点项目“1+3”推进机制的通知,policy_notice,"
    "洛河市人民政府办公室,洛政办〔2021〕5号,2021-04-02,河南省洛河市\n"
    "洛河分工表.xlsx,,luohe_tasks,洛河市重点项目任务分工表,policy_notice,洛河市人民政府办公室,,2021-04-02,河南省洛河市\n"
)


def write_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "洛河通知.txt").write_text(TEST_NOTICE, encoding="utf-8")
    (folder / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    wb = Workbook()
    ws = wb.active
    ws.append(["重点任务分工表"])
    ws.append(["序号", "重点任务", "牵头单位", "责任单位", "完成时限"])
    ws.append([1, "建立重点项目全程代办制度", "市行政审批局", "市商务局", "2021年6月底前"])
    ws.append([2, "编制标准厂房招商手册", "市工业和信息化局", "各县（区）", "2021年9月底前"])
    wb.save(folder / "洛河分工表.xlsx")
    return folder


def meta(section_path: str, n: int = 0) -> dict:
    return {
        "chunk_id": f"luohe::{n}",
        "doc_id": "luohe_notice",
        "title": "洛河市…通知",
        "doc_number": "洛政办〔2021〕5号",
        "kind": "policy_notice",
        "date": "2021-04-02",
        "region": "河南省洛河市",
        "section_path": section_path,
        "page": None,
        "source": "洛河通知.txt",
    }


GROUP_BLOCK = (
    "（一）专班组成。\n牵头领导：欧阳明远。\n牵头单位：洛河市商务局。\n"
    "责任单位：市发展改革委、自然资源局、商务局及相关市直单位，各县（区）。\n工作职责：负责重点项目的统筹调度和跟踪服务。"
)
SYSTEMS = [
    (
        "（一）周例会制度。市商务局要每周召开一次项目推进例会，研究解决项目推进中的问题。",
        "二、建立3项配套制度 › （一）周例会制度",
    ),
    (
        "（二）信息报送制度。各县（区）明确1名联络员，每季度末前向市商务局报送项目进展情况。",
        "二、建立3项配套制度 › （二）信息报送制度",
    ),
    (
        "（三）要素保障制度。用地保障由市自然资源局牵头，市财政局配合。项目推进办公室（以下简称“项目办”）设在市商务局。",
        "二、建立3项配套制度 › （三）要素保障制度",
    ),
]


# ---------------------------------------------------------------- pure functions on the test notice


def test_label_lines_give_leader_lead_and_responsible_units_with_one_actor_per_unit():
    rows = responsibilities.extract(
        [(GROUP_BLOCK, meta("一、组建1个项目推进专班 › （一）专班组成"))]
    )
    by_role = {}
    for r in rows:
        by_role.setdefault(r.role, []).append(r)
    assert [r.actor for r in by_role["牵头领导"]] == ["欧阳明远"] and by_role["牵头领导"][
        0
    ].actor_kind == "leader"
    assert [r.actor for r in by_role["牵头单位"]] == ["市商务局"]
    assert [r.actor for r in by_role["责任单位"]] == [
        "市发展改革委",
        "市自然资源局",
        "市商务局",
        "相关市直单位",
        "各县（区）",
    ]
    # 洛河市商务局 (lead) and 商务局 (in the list that began with 市…) are one actor of 洛河市
    keys = {r.actor_key for r in rows if r.actor == "市商务局"}
    assert keys == {"洛河市|商务局"}
    assert all(r.scope == "专班组成" and r.duty == "负责重点项目的统筹调度和跟踪服务" for r in rows)
    assert by_role["牵头单位"][0].passage.quote == "牵头单位：洛河市商务局。"


def test_sentences_give_duties_reporting_with_deadlines_and_lead_cooperate():
    rows = responsibilities.extract(
        [(body, meta(path, i)) for i, (body, path) in enumerate(SYSTEMS)]
    )
    got = {(r.actor, r.role, r.deadline) for r in rows}
    assert ("市商务局", "负责", "每周") in got
    assert ("各县（区）", "报送", "每季度末前") in got and (
        "市商务局",
        "接收报送",
        "每季度末前",
    ) in got
    assert ("市自然资源局", "牵头", "") in got and ("市财政局", "配合", "") in got
    for r in rows:  # every quote is the chunk's own words
        assert r.passage.quote in SYSTEMS[int(r.passage.chunk_id.split("::")[1])][0]


def test_actor_normalisation_within_a_region():
    assert responsibilities.normalise_actor("焦作市商务局", "河南省焦作市")[:2] == (
        "市商务局",
        "焦作市|商务局",
    )
    assert responsibilities.normalise_actor("商务局", "河南省焦作市", city_level=True)[:2] == (
        "市商务局",
        "焦作市|商务局",
    )
    assert (
        responsibilities.normalise_actor("市商务局", "河南省郑州市")[1] == "郑州市|商务局"
    )  # another region
    assert responsibilities.normalise_actor("市委", "河南省焦作市")[0] == "市委"
    assert responsibilities.normalise_actor("市民政局", "河南省焦作市")[:2] == (
        "市民政局",
        "焦作市|民政局",
    )
    market = responsibilities.normalise_actor("市市场监管局", "河南省焦作市")
    assert market[:2] == ("市市场监管局", "焦作市|市场监管局")
    assert (
        responsibilities.normalise_actor("市场监管局", "河南省焦作市", city_level=True)[:2]
        == market[:2]
    )
    assert (
        responsibilities.actor_core("焦作市商务局")
        == responsibilities.actor_core("商务局")
        == "商务局"
    )


def test_glossary_reads_shorthand_parts_abbreviations_and_definitions():
    chunks = [
        ("为加快重点项目落地见效，决定建立重点项目“1+3”推进机制。", meta("", 0)),
        (
            "一、组建1个项目推进专班\n" + GROUP_BLOCK,
            meta("一、组建1个项目推进专班 › （一）专班组成", 1),
        ),
        *[(body, meta(path, i + 2)) for i, (body, path) in enumerate(SYSTEMS)],
        (
            "所谓“拎包入住”，是指企业签约后即可入驻标准厂房、当月投产。",
            meta("二、建立3项配套制度 › （三）要素保障制度", 9),
        ),
    ]
    entries = {e.term: e for e in glossary.extract(chunks)}
    assert entries["1+3"].how == "组成" and len(entries["1+3"].parts) == 2
    assert (
        "一、组建1个项目推进专班" in entries["1+3"].definition
        and "二、建立3项配套制度" in entries["1+3"].definition
    )
    assert entries["项目办"].how == "简称" and "项目推进办公室" in entries["项目办"].definition
    assert entries["拎包入住"].how == "定义" and "标准厂房" in entries["拎包入住"].definition
    assert "1个" not in entries  # a count is not a term


def test_questions_of_other_shapes_are_not_taken():
    rows = responsibilities.extract(
        [(GROUP_BLOCK, meta("一、组建1个项目推进专班 › （一）专班组成"))]
    )
    from rag.onboarding.store import OnboardingMap

    omap = OnboardingMap(responsibilities=tuple(rows))
    assert map_answer("市商务局负责哪些事？", omap) is not None
    assert (
        map_answer("市民政局负责哪些事？", omap) is None
    )  # no row: the documents' answerer decides
    assert map_answer("专班组成的牵头领导是谁？", omap) is None  # one fact: not an aggregation
    assert map_answer("洛河重点项目投资多少？", omap) is None


# ---------------------------------------------------------------- a real ingest of the test notice


@pytest.fixture(scope="module")
def luohe(tmp_path_factory: pytest.TempPathFactory, e5: E5Embeddings) -> PolicyQA:
    base = tmp_path_factory.mktemp("luohe")
    qa = PolicyQA(Settings(index_dir=base / "index", unit_vectors_at_ingest=False), embeddings=e5)
    report = qa.ingest([write_folder(base / "docs")])
    assert report.ok, report.failed
    return qa


def test_ingest_extracts_the_map_and_ask_aggregates_it(luohe: PolicyQA):
    assert (luohe.settings.index_dir / "onboarding.json").exists()  # written at ingest
    roles = {r.role for r in luohe.responsibilities(actor="洛河市商务局")}
    assert {"牵头单位", "责任单位", "负责", "接收报送"} <= roles
    table = {(r.actor, r.role, r.deadline) for r in luohe.responsibilities(doc_id="luohe_tasks")}
    assert ("市行政审批局", "牵头单位", "2021年6月底前") in table and (
        "市商务局",
        "责任单位",
        "2021年6月底前",
    ) in table

    a = luohe.ask("洛河市商务局负责哪些事？")
    assert a.answered and a.mode == "map" and len(a.citations) >= 4
    quotes = " ".join(c.quote for c in a.citations)
    assert "牵头单位：洛河市商务局。" in quotes and "每季度末前向市商务局报送" in quotes
    stored = luohe.stored_texts([c.chunk_id for c in a.citations])
    assert all(c.quote in stored[c.chunk_id] for c in a.citations)
    assert all(f"[{c.n}]" in a.text for c in a.citations)

    who = luohe.ask("谁负责编制标准厂房招商手册？")
    assert who.mode == "map" and "市工业和信息化局" in who.text and "2021年9月底前" in who.text
    assert "分工表" in who.citations[0].section_path

    term = luohe.ask("什么是拎包入住？")
    assert term.mode == "glossary" and "标准厂房" in term.text and term.citations


def test_deleted_and_pruned_documents_leave_the_map(luohe: PolicyQA, tmp_path: Path):
    assert luohe.responsibilities(doc_id="luohe_tasks")
    luohe.delete_document("luohe_tasks")  # as the app's 文档库 deletes
    assert luohe.responsibilities(doc_id="luohe_tasks") == []
    stored = json.loads((luohe.settings.index_dir / "onboarding.json").read_text(encoding="utf-8"))
    assert "luohe_tasks" not in stored["documents"] and "luohe_notice" in stored["documents"]
    # re-ingest with the notice's file gone: --prune removes it, and its rows go with it
    folder = Path(luohe.responsibilities(doc_id="luohe_notice")[0].passage.source).parent
    (folder / "洛河通知.txt").unlink()
    (folder / "洛河分工表.xlsx").unlink()
    report = luohe.ingest([folder], prune=True)
    assert "luohe_notice" in report.removed
    assert luohe.responsibilities() == [] and luohe.responsibilities(actor="洛河市商务局") == []
    assert luohe.glossary("拎包入住") == []


# ---------------------------------------------------------------- corpus/: the 7+X notice


def _notice_groups() -> dict[str, dict[str, set[str]]]:
    """group → role → names, read straight from the notice file (not through the extractor)."""
    text = (CORPUS / f"{NOTICE}.txt").read_text(encoding="utf-8")
    text = re.sub(
        r"\n\s*\n(?=[^\n（#牵责工])", "", text
    )  # a page break inside a list ("粮食和物\n\n资储备局")
    groups: dict[str, dict[str, set[str]]] = {}
    current = ""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        m = re.match(r"^（[一二三四五六七]）(招商[一二三四五六七]组)", line)
        if m:
            current = m.group(1)
            groups[current] = {}
            continue
        m = re.match(r"^(牵头领导|牵头单位|责任单位)：(.+?)。?$", line)
        if current and m:
            names = {
                re.sub(r"^市", "", n.strip())
                for n in re.split(r"[、，]|及", m.group(2))
                if n.strip()
            }
            groups[current][m.group(1)] = names
    return groups


def test_map_holds_every_leader_lead_and_responsible_unit_of_the_seven_groups(corpus_qa: PolicyQA):
    expected = _notice_groups()
    assert len(expected) == 7 and all(len(v) == 3 for v in expected.values())
    rows = corpus_qa.responsibilities(doc_id=NOTICE)
    for group, by_role in expected.items():
        for role, names in by_role.items():
            got = {re.sub(r"^市", "", r.actor) for r in rows if r.scope == group and r.role == role}
            assert got == names, (group, role, got ^ names)


def test_map_holds_reporting_and_follow_up_duties_with_their_frequencies(corpus_qa: PolicyQA):
    rows = corpus_qa.responsibilities(doc_id=NOTICE, deadline=True)
    got = {(r.actor, r.role, r.deadline) for r in rows}
    assert ("市商务局", "接收报送", "每月25日前") in got and (
        "市对外开放领导小组办公室",
        "接收报送",
        "每月25日前",
    ) in got
    assert ("各招商小组牵头单位", "报送", "每月25日前") in got
    assert ("市委", "听取汇报", "每双月") in got and ("各招商小组", "汇报", "每双月") in got
    assert any(r.deadline == "年底" for r in rows)  # the year-end appraisal


def test_city_commerce_bureau_has_all_its_roles_each_cited(corpus_qa: PolicyQA):
    rows = corpus_qa.responsibilities(actor="焦作市商务局")
    assert {r.region for r in rows} == {"焦作市"}
    scopes = {(r.role, r.scope) for r in rows}
    assert ("牵头单位", "招商二组") in scopes
    assert {s for role, s in scopes if role == "责任单位"} == {f"招商{n}组" for n in "一三四五六七"}
    assert ("牵头", "联动协调机制") in scopes and ("接收报送", "信息联络机制") in scopes
    assert ("负责", "市直有关单位") in scopes  # the X part

    a = corpus_qa.ask("市商务局负责哪些事？")
    assert a.answered and a.mode == "map"
    cited = {c.chunk_id for c in a.citations}
    assert {r.passage.chunk_id for r in rows} <= cited  # every role of 焦作's bureau, cited
    assert "招商二组" in a.text and "每月25日前" in a.text
    first = corpus_qa.ask("焦作市商务局在这个机制里要负责哪些事？")
    assert first.mode == "map" and all(c.doc_id == NOTICE for c in first.citations)
    assert len(first.citations) >= 9


def test_group_units_and_deadline_questions(corpus_qa: PolicyQA):
    a = corpus_qa.ask("招商四组有哪些责任单位？")
    assert (
        a.mode == "map" and "市住房和城乡建设局" not in a.text
    )  # the lead unit is not a responsible unit
    assert all(u in a.text for u in ("市交通运输局", "市公路局", "市园林局", "市财政局"))
    assert a.citations[0].quote.startswith("责任单位：")
    d = corpus_qa.ask("哪些事有报送时限？")
    assert d.mode == "map" and "每月25日前" in d.text and "每双月" in d.text


def test_glossary_entries_of_the_corpus(corpus_qa: PolicyQA):
    seven = [e for e in corpus_qa.glossary("7+X") if e.term == "7+X"]
    assert seven and seven[0].how == "组成" and seven[0].passage.doc_id == NOTICE
    assert [p.section_path.split(" › ")[0] for p in seven[0].parts] == [
        "一、成立7个招商小组",
        "二、实施“X”主体联动招商",
    ]
    assert any(
        e.term == "以商招商" and e.passage.doc_id == NOTICE for e in corpus_qa.glossary("以商招商")
    )
    five = next(e for e in corpus_qa.glossary("五改") if e.term == "五改")
    assert (
        five.how == "列举" and len(five.parts) == 4
    )  # 一要改… is in the sentence "这“五改”是：一要改…"
    assert all(f"{n}要改" in five.definition for n in "一二三四五")
    assert any("商务局" in g for g in corpus_qa.synonym_groups("商务局"))


@pytest.mark.parametrize("term", ["顶格招商", "链式招商", "以商招商"])
def test_what_is_a_term_answers_from_the_glossary_or_says_it_is_undefined(
    corpus_qa: PolicyQA, term: str
):
    a = corpus_qa.ask(f"什么是{term}？")
    assert a.mode == "glossary" and a.citations and all(term in c.quote for c in a.citations)
    defined = [e for e in corpus_qa.glossary(term) if e.term == term and e.defined]
    if not defined:
        assert "没有给出定义" in a.text


def test_other_questions_fall_through_unchanged(corpus_qa: PolicyQA):
    assert corpus_qa.ask("招商六组的牵头领导是谁？").mode == "extractive"
    assert corpus_qa.ask("焦作招商二组负责哪些行业？").mode == "extractive"
    assert corpus_qa.ask("市民政局负责哪些事？").mode != "map" or corpus_qa.responsibilities(
        actor="市民政局"
    )


def test_examples_are_built_from_the_map_and_each_is_answered(corpus_qa: PolicyQA):
    questions = corpus_qa.onboarding_examples(limit=16)
    assert "市商务局负责哪些事？" in questions
    assert (
        sum(q.startswith("招商") and q.endswith("有哪些责任单位？") for q in questions) == 7
    )  # one per group
    for q in questions[:3]:
        assert corpus_qa.ask(q).mode in ("map", "glossary")


def test_overview_lists_headings_with_first_sentences(corpus_qa: PolicyQA):
    ov = corpus_qa.document_outline(NOTICE).to_dict()
    assert ov["doc_number"] == "焦政办〔2020〕9号" and ov["kind"] == "政策文件" and ov["issuer"]
    heads = [(i["level"], i["heading"]) for i in ov["outline"]]
    assert (1, "一、成立7个招商小组") in heads and (1, "三、健全保障机制") in heads
    assert sum(1 for level, h in heads if level == 2 and h.startswith("（")) >= 12
    stored = corpus_qa.stored_texts([i["chunk_id"] for i in ov["outline"]])
    for item in ov["outline"]:
        assert item["first_sentence"] and item["first_sentence"] in stored[item["chunk_id"]]


# ---------------------------------------------------------------- REST, CLI, XLSX


@pytest.fixture(scope="module")
def client(corpus_qa: PolicyQA) -> Iterator[httpx.Client]:
    with (
        LiveServer(create_server(corpus_qa.settings, corpus_qa)) as base,
        httpx.Client(base_url=base, timeout=60) as c,
    ):
        yield c


def test_rest_routes(client: httpx.Client):
    r = client.get("/api/responsibilities", params={"actor": "焦作市商务局", "role": "单位"})
    assert r.status_code == 200
    rows = r.json()["responsibilities"]
    assert r.json()["count"] == len(rows) >= 7 and {x["role"] for x in rows} == {
        "牵头单位",
        "责任单位",
    }
    assert all(x["region"] == "焦作市" and x["quote"] and x["chunk_id"] for x in rows)
    zz = client.get("/api/responsibilities", params={"region": "郑州"}).json()["responsibilities"]
    assert zz and all(x["region"] == "郑州市" for x in zz)

    g = client.get("/api/glossary", params={"q": "7+X"}).json()
    assert any(e["term"] == "7+X" and e["how"] == "组成" for e in g["entries"])

    o = client.get(f"/api/documents/{NOTICE}/outline")
    assert o.status_code == 200 and o.json()["outline"][0]["chunk_id"].startswith(NOTICE)
    missing = client.get("/api/documents/no-such-doc/outline")
    assert missing.status_code == 404 and "找不到文档" in missing.json()["detail"]
    bad = client.get("/api/responsibilities", params={"actor": "局" * 200})
    assert bad.status_code == 400 and "actor" in bad.json()["detail"]
    assert client.get("/api/responsibilities", params={"deadline": "maybe"}).status_code == 422


def _cli(args: list[str], index_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "POLICYQA_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_map_json_glossary_and_xlsx_export(corpus_qa: PolicyQA, tmp_path: Path):
    xlsx = tmp_path / "职责清单.xlsx"
    done = _cli(
        ["map", "--actor", "市商务局", "--region", "焦作", "--json", "--xlsx", str(xlsx)],
        corpus_qa.settings.index_dir,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["count"] == len(got["responsibilities"]) >= 10
    assert {r["role"] for r in got["responsibilities"]} >= {"牵头单位", "责任单位", "接收报送"}

    sheet = load_workbook(xlsx).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS and len(rows) - 1 == got["count"]
    first = dict(zip(COLUMNS, rows[1], strict=True))
    assert first["责任主体"] == "市商务局" and first["原文"] == got["responsibilities"][0]["quote"]

    terms = _cli(["glossary", "以商招商", "--json"], corpus_qa.settings.index_dir)
    assert terms.returncode == 0, terms.stderr
    assert any(e["term"] == "以商招商" for e in json.loads(terms.stdout)["entries"])
    bad = _cli(["map", "--actor", "局" * 200], corpus_qa.settings.index_dir)
    assert bad.returncode == 2 and "无效" in bad.stderr
