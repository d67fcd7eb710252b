"""The project ledger: loading ledger files, corpus/projects.csv against its sources, the
condition parser, ledger answers over the seed corpus, and ``policyqa projects``."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest

from ingest.documents import read_documents, split_parts
from ingest.loaders import _lines, decode_text, load_file, parse_amount, split_region
from ingest.metadata import load_catalog
from rag.errors import LoadError, QueryError
from rag.ledger.projects import (
    Ledger,
    ProjectQuery,
    is_project_question,
    parse_conditions,
    stage_level,
)
from rag.service import PolicyQA
from tests.conftest import CORPUS, ROOT

MB = 50_000_000


# --------------------------------------------------------------------------- ledger files


def test_csv_ledger_with_city_county_and_wan_yuan(tmp_path: Path):
    f = tmp_path / "ledger.csv"
    f.write_text(
        "项目名称,市,县区,行业,总投资（万元）,进展,日期,企业\n"
        "金刚石散热基板项目,焦作市,山阳区,新材料,300000,签约,2024,某公司\n"
        "硼中子俘获治疗项目,焦作市,山阳区,,5000万元,,,\n",
        encoding="utf-8",
    )
    docs, problems = read_documents(f, {}, MB)
    assert not problems and [d.doc_id for d in docs] == ["ledger#row2", "ledger#row3"]
    first, second = docs
    assert first.meta.kind == "project_record" and first.meta.region == "焦作市山阳区"
    assert first.extra == {
        "project_name": "金刚石散热基板项目",
        "row": 2,
        "city": "焦作市",
        "county": "山阳区",
        "region": "焦作市山阳区",
        "industry": "新材料",
        "amount_yi": 30.0,
        "stage": "签约",
        "date": "2024",
        "units": "某公司",
    }
    assert (
        first.text
        == "金刚石散热基板项目（焦作市山阳区），属新材料产业，投资额30亿元，阶段：签约（2024年），相关单位：某公司。"
    )
    assert second.extra["amount_yi"] == 0.5  # a unit in the cell wins over the header's


def test_bad_rows_are_reported_and_good_rows_load(tmp_path: Path):
    f = tmp_path / "ledger.csv"
    f.write_text(
        "项目,所在地,投资额,阶段,原文\n"
        "甲项目,焦作市,10,签约,甲项目投资10亿元。\n"
        ",焦作市,3,签约,\n"
        "乙项目,焦作市,2.5亿元,开工,\n"
        "丙项目,焦作市,约十亿,洽谈,\n",
        encoding="utf-8",
    )
    docs, problems = read_documents(f, {}, MB)
    assert [d.meta.title for d in docs] == ["甲项目", "乙项目", "丙项目"]
    assert problems == [
        "第3行：缺少项目名称，已跳过",
        "第5行：投资额“约十亿”不是数字，已按空值导入",
    ]
    assert [d.extra.get("amount_yi") for d in docs] == [10.0, 2.5, None]
    assert docs[0].text.endswith("\n原文：甲项目投资10亿元。")


@pytest.mark.parametrize("header", ["地区,产业,投资额\n焦作,新材料,3\n", "名字,金额\n甲,3\n"])
def test_wrong_headers_are_a_clear_error(tmp_path: Path, header: str):
    f = tmp_path / "notaledger.csv"
    f.write_text(header, encoding="utf-8")
    with pytest.raises(LoadError, match="缺少必需的列“项目名称”"):
        load_file(f, MB)


def test_xlsx_ledger(tmp_path: Path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["项目名称", "地区", "产业", "投资额（亿元）", "阶段", "来源文件", "签约时间"])
    ws.append(
        [
            "中化集团风神轮胎电硫化机项目",
            "河南省焦作市山阳区",
            "装备制造",
            5.3,
            "签约",
            "000_x",
            datetime(2024, 3, 1),
        ]
    )
    ws.append(["雄安新区中关村科技园", "河北省雄安新区", None, None, "在建", None, 2018])
    ws.append([None, "焦作市", None, "abc", None, None, None])
    wb.save(tmp_path / "ledger.xlsx")
    docs, problems = read_documents(tmp_path / "ledger.xlsx", {}, MB)
    assert problems == ["第4行：缺少项目名称，已跳过"]
    assert docs[0].extra["amount_yi"] == 5.3 and docs[0].extra["county"] == "山阳区"
    assert docs[0].extra["province"] == "河南省" and docs[0].extra["source_doc"] == "000_x"
    assert docs[0].extra["date"] == "2024-03-01" and docs[0].meta.date == "2024-03-01"
    assert (
        docs[1].extra["city"] == "雄安新区"
        and "amount_yi" not in docs[1].extra
        and docs[1].extra["date"] == "2018"
    )


@pytest.mark.parametrize(
    ("text", "per_yi", "want"),
    [
        ("30", 1, 30.0),
        ("5.3亿元", 1, 5.3),
        ("5000万元", 1, 0.5),
        ("1,200", 10000, 0.12),
        ("约十亿", 1, None),
        ("-3", 1, None),
        ("nan", 1, None),
    ],
)
def test_parse_amount(text: str, per_yi: int, want: float | None):
    assert parse_amount(text, per_yi) == want


def test_split_region():
    assert split_region("焦作市山阳区") == ("", "焦作市", "山阳区")
    assert split_region("河北省雄安新区") == ("河北省", "雄安新区", "")
    assert split_region("博爱县") == ("", "", "博爱县")
    assert split_region("焦作") == ("", "", "")


# --------------------------------------------------------------------------- corpus/projects.csv


def _ledger_rows() -> list[dict[str, str]]:
    with (CORPUS / "projects.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _source_texts() -> dict[str, str]:
    """doc id → the raw text of that document (catalog parts of 003), all whitespace removed."""
    catalog = load_catalog(CORPUS / "catalog.csv")
    out: dict[str, str] = {}
    for f in sorted(CORPUS.glob("*.txt")):
        lines = _lines(decode_text(f.read_bytes()))
        entries = catalog[f.name]
        parts = split_parts(lines, entries) if len(entries) > 1 else [lines]
        for entry, part in zip(entries, parts, strict=True):
            out[entry.doc_id] = "".join("".join(ln.text for ln in part).split())
    return out


def test_every_quote_is_verbatim_in_its_source_document():
    rows, texts = _ledger_rows(), _source_texts()
    assert len(rows) >= 25
    for no, row in enumerate(rows, start=2):
        quote = row["原文"]
        assert quote and quote == "".join(quote.split()), no
        assert row["来源文件"] in texts, (no, row["来源文件"])
        assert quote in texts[row["来源文件"]], (no, quote)
        assert row["项目名称"].removesuffix("项目") in quote, (no, row["项目名称"])
        if row["投资额（亿元）"]:  # amounts only where the sentence states them
            assert f"投资{float(row['投资额（亿元）']):g}亿元" in quote, no
        assert stage_level(row["阶段"]) or row["阶段"] == "推进", (no, row["阶段"])


def test_ledger_loads_without_problems():
    docs, problems = read_documents(CORPUS / "projects.csv", {}, MB)
    assert not problems and len(docs) == len(_ledger_rows())
    assert {d.meta.kind for d in docs} == {"project_record"}


# --------------------------------------------------------------------------- condition parser

PHRASINGS = [
    ("山阳区引进了哪些项目？", {"regions": ("山阳区",)}),
    ("投资超过10亿元的项目有哪些？", {"min_amount": 10.0, "min_strict": True}),
    ("新材料方面签约了哪些项目？", {"industry": "新材料", "stage": "签约"}),
    ("5000万元以上的项目", {"min_amount": 0.5}),
    ("投资额在1亿到5亿元之间的项目", {"min_amount": 1.0, "max_amount": 5.0}),
    ("投资不少于20亿元的项目", {"min_amount": 20.0}),
    ("3亿元以下的项目有哪些", {"max_amount": 3.0}),
    ("投资不超过5.3亿元的项目", {"max_amount": 5.3}),
    ("总投资低于1亿元的项目", {"max_amount": 1.0, "max_strict": True}),
    ("五千万元到二十亿元之间的项目", {"min_amount": 0.5, "max_amount": 20.0}),
    ("投资1亿元至5亿元的项目", {"min_amount": 1.0, "max_amount": 5.0}),
    (
        "焦作市山阳区投资30亿元的项目是什么？",
        {"regions": ("焦作市", "山阳区"), "min_amount": 30.0, "max_amount": 30.0},
    ),
    ("2017年汝州引进了哪些项目？", {"regions": ("汝州",), "year": "2017"}),
    ("正在洽谈的项目有哪些", {"stage": "洽谈", "stage_exact": True}),
    ("已经开工的项目有哪些？", {"stage": "开工"}),
    ("解放区在建项目有哪些", {"regions": ("解放区",), "stage": "在建", "stage_exact": True}),
    ("已投产的项目", {"stage": "投产"}),
    ("签约落地的项目有哪些", {"stage": "落地"}),
    ("医疗科技产业有哪些项目", {"industry": "医疗科技"}),
    ("机器人领域的项目有哪些", {"industry": "机器人"}),
    (
        "超过5000万元的新能源项目有哪些",
        {"industry": "新能源", "min_amount": 0.5, "min_strict": True},
    ),
    ("雄安新区有哪些在建项目？", {"regions": ("雄安新区",), "stage": "在建", "stage_exact": True}),
    ("瑞庆项目从洽谈到开工用了多久？", {"duration": True, "rest": ("瑞庆",)}),
]


@pytest.mark.parametrize(("question", "want"), PHRASINGS)
def test_parse_conditions(question: str, want: dict):
    assert parse_conditions(question) == ProjectQuery(**want)


ROUTED = [
    "山阳区引进了哪些项目？",
    "投资超过10亿元的项目有哪些？",
    "新材料方面签约了哪些项目？",
    "5000万元以上的项目",
    "有哪些项目？",
    "汝州在建的项目有哪些？",
]
NOT_ROUTED = [
    "瑞庆项目从洽谈到开工用了多久？",
    "招商六组的牵头领导是谁？",
    "汝州驻地招商成功引进了哪些项目？",
    "郑州对国内外500强直接投资或投资5亿元以上的项目，要及时上报哪个部门，纳入什么管理？",
    "焦作推动落地的重点项目中，有哪些企业和项目在加快推进？",
    "焦作聚焦新材料产业链招引了哪些项目？",
]


def test_is_project_question():
    assert all(is_project_question(q) for q in ROUTED)
    assert not any(is_project_question(q) for q in NOT_ROUTED)


def test_policy_eval_set_is_left_to_the_documents():
    """Of the policy questions, only two are pure ledger filters (one answerable, one unanswerable)."""
    lines = (ROOT / "evals" / "sets" / "policy_qa.jsonl").read_text(encoding="utf-8").splitlines()
    routed = {
        item["id"] for item in map(json.loads, lines) if is_project_question(item["question"])
    }
    assert routed == {"q062", "q151"}


def test_filters_from_a_mapping():
    q = ProjectQuery.from_mapping({"region": "焦作 山阳区", "min_amount": "10", "stage": "在建"})
    assert q.regions == ("焦作", "山阳区") and q.min_amount == 10.0 and q.stage_exact
    for bad, message in [
        ({"stage": "完工"}, "未知的项目阶段"),
        ({"min_amount": "十亿"}, "不是数字"),
        ({"min_amount": 5, "max_amount": 1}, "大于上限"),
        ({"city": "焦作"}, "未知的项目筛选条件"),
        ({"max_amount": -1}, "不是有效的金额"),
    ]:
        with pytest.raises(QueryError, match=message):
            ProjectQuery.from_mapping(bad)


# --------------------------------------------------------------------------- ledger answers


@pytest.fixture(scope="module")
def ledger(corpus_qa: PolicyQA) -> Ledger:
    return Ledger.from_index(corpus_qa.index)


def _names(ledger: Ledger, question: str) -> list[str]:
    return [r.name for r in ledger.filter(ledger.parse(question))]


EXPECTED = {
    "山阳区引进了哪些项目？": [
        "金刚石散热基板项目",
        "硼中子俘获治疗项目",
        "中化集团风神轮胎电硫化机项目",
    ],
    "投资超过10亿元的项目有哪些？": ["金刚石散热基板项目", "硼中子俘获治疗项目"],
    "新材料方面签约了哪些项目？": ["金刚石散热基板项目", "博爱县能源动力装备及新材料科技研究中心"],
    "瑞庆项目从洽谈到开工用了多久？": ["瑞庆年产30万台第五代混合动力发动机项目"],
}


@pytest.mark.parametrize("question", list(EXPECTED))
def test_ledger_answers_list_exactly_the_matching_records(
    ledger: Ledger, corpus_qa: PolicyQA, question: str
):
    assert _names(ledger, question) == EXPECTED[question]
    answer = ledger.answer(question)
    assert answer.answered and answer.mode == "ledger"
    assert [c.title for c in answer.citations] == EXPECTED[question]
    stored = corpus_qa.stored_texts([c.chunk_id for c in answer.citations])
    rows = {r.doc_id: r for r in ledger.records}
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text and c.quote in stored[c.chunk_id]
        assert c.quote == rows[c.doc_id].quote and c.doc_id.startswith("projects#row")


def test_answer_texts(ledger: Ledger):
    assert "合计55.3亿元" in ledger.answer("山阳区引进了哪些项目？").text
    over10 = ledger.answer("投资超过10亿元的项目有哪些？").text
    assert "合计50亿元" in over10 and "另有25个符合其他条件的项目未载明投资额" in over10
    assert "其中1个项目载明投资额，合计30亿元" in ledger.answer("新材料方面签约了哪些项目？").text
    ruiqing = ledger.answer("瑞庆项目从洽谈到开工用了多久？").text
    assert "仅用时150天" in ruiqing and "《破局“内卷式”竞争" in ruiqing


def test_no_match_is_a_refusal_naming_the_conditions(ledger: Ledger):
    answer = ledger.answer("许昌市2023年招商引资签约项目的总金额是多少？")
    assert not answer.answered and answer.mode == "refusal" and not answer.citations
    assert "地区：许昌市" in answer.text and "年份：2023年" in answer.text
    other = ledger.answer("招商六组的牵头领导是谁？")
    assert not other.answered and "没有与“六组、牵头领导、谁”对应的项目记录" in other.text


@pytest.mark.parametrize(
    ("question", "name", "figure"),
    [
        ("硼中子项目投资多少？", "硼中子俘获治疗项目", "投资20亿元"),
        (
            "瑞庆第五代混合动力发动机项目的年产能是多少？",
            "瑞庆年产30万台第五代混合动力发动机项目",
            "30万台",
        ),
        ("北京摩腾风电项目是什么阶段？", "新能源北京摩腾陵头镇风电项目", "阶段：引进（2017年）"),
    ],
)
def test_a_project_named_in_part(ledger: Ledger, question: str, name: str, figure: str):
    answer = ledger.answer(question)
    assert [c.title for c in answer.citations] == [name] and figure in answer.text


def test_projects_eval_set_agrees_with_the_ledger(ledger: Ledger):
    from rag.evaluation.scoring import load_set

    for item in load_set(ROOT / "evals" / "sets" / "projects_qa.jsonl"):
        answer = ledger.answer(item.question)
        assert all(a in answer.text for a in item.answers), item.id
        assert {c.doc_id for c in answer.citations} <= item.gold_docs, item.id


def test_cli_projects_json(corpus_qa: PolicyQA, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from rag import cli

    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    runner = CliRunner()
    done = runner.invoke(
        cli.app, ["projects", "--region", "山阳区", "--min-amount", "10", "--json"]
    )
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert body["count"] == 2 and body["total_amount_yi"] == 50.0
    assert [p["name"] for p in body["projects"]] == ["金刚石散热基板项目", "硼中子俘获治疗项目"]
    assert (
        body["projects"][0]["source_doc"] == "000_9d2077c1412aaefe"
        and body["projects"][0]["county"] == "山阳区"
    )
    table = runner.invoke(cli.app, ["projects", "--industry", "新材料", "--stage", "签约"])
    assert table.exit_code == 0 and "：2 个项目" in table.stdout and "合计 30 亿元" in table.stdout
    bad = runner.invoke(cli.app, ["projects", "--stage", "完工"])
    assert bad.exit_code == 2 and "未知的项目阶段" in bad.output
