"""The app in a real browser: Debian's Chromium driven by Playwright, against a real server.

Needs /usr/bin/chromium (``apt-get install chromium``; .ci/run installs it). Playwright's
own browser downloads are never used. Without Chromium the tests fail, saying so.
Screenshots go to tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import create_server
from rag.service import PolicyQA
from rag.serving.feedback import feedback_store
from rag.settings import Settings
from rag.store.embeddings import E5Embeddings
from tests.servers import LiveServer

CHROMIUM = Path(os.environ.get("POLICYQA_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DOC_NUMBER = "焦政办〔2020〕9号"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"没有找到 Chromium（{CHROMIUM}）：浏览器测试需要 Debian 的 chromium 包。"
            "请运行 `apt-get install -y chromium`（.ci/run 会自动安装），或用 POLICYQA_CHROMIUM 指定路径。",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def new_page(browser: Any, outside: list[str]) -> Any:
    """A Chinese-locale page that records every request leaving the loopback interface."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))
            else None
        ),
    )
    return page


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_staff_ask_check_sources_rate_and_search(browser: Any, corpus_qa: PolicyQA):
    from playwright.sync_api import expect

    outside: list[str] = []
    with LiveServer(create_server(corpus_qa.settings, corpus_qa)) as url:
        page = new_page(browser, outside)
        page.goto(url + "/")
        expect(page.get_by_role("tab", name="问答")).to_be_visible()

        # 问答: the answer names the leader, its source card names the notice and opens on the quote
        page.locator("#question textarea").fill("招商六组的牵头领导是谁？")
        page.locator("#ask-button").click()
        # the answer appears whole: the first text after the placeholder already ends in its marker
        page.wait_for_function(
            "() => { const m = document.querySelectorAll('#chat .message-content');"
            " const t = m.length ? m[m.length - 1].innerText : '';"
            " return t && !t.includes('正在检索资料') && t.includes('根据'); }",
            polling="raf",
        )
        first_shown = page.locator("#chat .message-content").last.inner_text()
        assert "孙起鹏" in first_shown and "[1]" in first_shown, first_shown
        card = page.locator("#chat details.pq-card").first
        expect(card.locator("summary")).to_contain_text(DOC_NUMBER)
        bubble = page.locator("#chat .message-content").last
        expect(bubble).to_contain_text("孙起鹏")
        expect(bubble).to_contain_text("[1]")
        mark = card.locator("mark")
        expect(mark).to_be_hidden()  # cards start closed
        card.locator("summary").click()
        expect(mark).to_be_visible()
        expect(mark).to_contain_text("孙起鹏")
        expect(card).to_contain_text("（六）招商六组")
        shot(page, "01-answer-with-source-card")

        # a follow-up is rewritten, and says how it was understood
        page.locator("#question textarea").fill("那招商七组呢？")
        page.locator("#question textarea").press("Enter")
        expect(page.locator("#chat .pq-rewritten").last).to_have_text(
            "理解为：招商七组的牵头领导是谁？"
        )
        expect(page.locator("#chat .message-content").last).to_contain_text("薛志杰")

        # 👎 with a comment lands in SQLite with the answer
        page.locator("#feedback-comment textarea").fill("还想知道牵头单位的联系人")
        page.locator("#thumbs-down").click()
        expect(page.locator("#feedback-status")).to_contain_text("已记录")
        row = feedback_store(corpus_qa.settings.index_dir).recent(1)[0]
        assert row["rating"] == -1 and row["comment"] == "还想知道牵头单位的联系人"
        assert row["question"] == "那招商七组呢？" and "薛志杰" in row["answer"]
        assert row["citations"] and row["citations"][0]["doc_number"] == DOC_NUMBER
        # the 赞 icon under the first answer rates that answer, not the latest one
        page.locator("#chat").get_by_role("button", name="赞").first.click()
        expect(page.locator("#feedback-status")).to_contain_text("👍")
        row = feedback_store(corpus_qa.settings.index_dir).recent(1)[0]
        assert (
            row["rating"] == 1
            and row["question"] == "招商六组的牵头领导是谁？"
            and "孙起鹏" in row["answer"]
        )
        shot(page, "02-follow-up-and-feedback")

        # 检索测试: BM25 alone, ranked table with the retrievers' ranks
        page.get_by_role("tab", name="检索测试").click()
        page.locator("#search-query textarea").fill("招商六组的牵头领导")
        page.get_by_label("关键词 BM25").check()
        page.locator("#search-button").click()
        expect(page.locator("#search-note")).to_contain_text("共 5 条结果")
        expect(page.locator("#search-results")).to_contain_text("孙起鹏")
        expect(page.locator("#search-results")).to_contain_text("BM25 排名")
        shot(page, "03-retrieval-test")

        # 文档库: every document listed; one opened section by section
        page.get_by_role("tab", name="文档库").click()
        expect(page.locator("#documents")).to_contain_text(DOC_NUMBER)
        page.locator("#doc-pick input").click()
        page.get_by_role("option", name="焦作市人民政府办公室关于建立焦作市").first.click()
        view = page.locator("#doc-view")
        expect(view.locator("h4", has_text="（六）招商六组")).to_be_visible()
        expect(view).to_contain_text("孙起鹏")
        shot(page, "04-document-library")
        page.context.close()
    assert outside == [], f"the page fetched from outside the machine: {outside}"


def test_newcomer_tab_filters_the_map_and_sends_an_example_into_the_chat(
    browser: Any, corpus_qa: PolicyQA
):
    """新人入门: the map filtered by an actor, the glossary searched, an overview opened, and an
    example question built from the map clicked into a cited answer in 问答."""
    from playwright.sync_api import expect

    outside: list[str] = []
    with LiveServer(create_server(corpus_qa.settings, corpus_qa)) as url:
        page = new_page(browser, outside)
        page.goto(url + "/")
        page.get_by_role("tab", name="新人入门").click()
        table = page.locator("#ob-map")
        expect(table).to_contain_text("招商二组")  # the whole map is shown on load
        page.locator("#ob-actor textarea").fill("焦作市商务局")
        page.locator("#ob-filter").click()
        expect(page.locator("#ob-summary")).to_contain_text("涉及 1 个责任主体")
        expect(table).to_contain_text("牵头单位：市商务局。")
        shot(page, "05-newcomer-map")

        page.locator("#ob-term textarea").fill("7+X")
        page.locator("#ob-term-button").click()
        expect(page.locator("#ob-glossary")).to_contain_text("一、成立7个招商小组")

        page.locator("#ob-doc input").click()
        page.get_by_role("option", name="焦作市人民政府办公室关于建立焦作市").first.click()
        outline = page.locator("#ob-outline")
        expect(outline).to_contain_text("一、成立7个招商小组")
        line = outline.locator("details.pq-outline", has_text="（二）招商二组").first
        line.locator("summary").click()
        expect(line.locator("mark")).to_contain_text("牵头领导：牛炎平。")

        example = page.locator("#ob-examples").get_by_text("市商务局负责哪些事？", exact=True)
        example.click()
        expect(page.get_by_role("tab", name="问答")).to_have_attribute("aria-selected", "true")
        bubble = page.locator("#chat .message-content").last
        expect(bubble).to_contain_text("职责清单")
        expect(bubble).to_contain_text("招商二组")
        expect(bubble).to_contain_text("[1]")
        card = page.locator("#chat details.pq-card").first
        expect(card.locator("summary")).to_contain_text(DOC_NUMBER)
        shot(page, "06-newcomer-example-answer")
        page.context.close()
    assert outside == [], f"the page fetched from outside the machine: {outside}"


def test_sign_in_and_admin_controls(browser: Any, tmp_path: Path, e5: E5Embeddings):
    from playwright.sync_api import expect

    settings = Settings(
        index_dir=tmp_path / "index", users="li:pw-li,boss:pw-boss", admins="boss", corpus_dirs=[]
    )
    upload = tmp_path / "关于成立光谷招商专班的通知.txt"
    upload.write_text(
        "关于成立光谷招商专班的通知\n一、专班组成\n光谷招商专班召集人：司马青云。\n",
        encoding="utf-8",
    )
    outside: list[str] = []
    with LiveServer(create_server(settings, PolicyQA(settings, embeddings=e5))) as url:
        for user, password, admin in (("li", "pw-li", False), ("boss", "pw-boss", True)):
            page = new_page(browser, outside)
            page.goto(url + "/")
            page.get_by_label("用户名").fill(user)
            page.get_by_label("密码").fill(password)
            page.get_by_role("button", name="登录").click()
            expect(page.locator("#who")).to_contain_text(f"当前用户：{user}")
            page.get_by_role("tab", name="文档库").click()
            button = page.locator("#upload-button")
            if not admin:
                expect(page.locator("#admin-note")).to_contain_text("仅限管理员")
                expect(button).to_be_disabled()
                shot(page, "05-reader-admin-disabled")
            else:
                expect(button).to_be_enabled()
                page.locator("#upload-files input[type=file]").set_input_files(str(upload))
                # Gradio shows the stem and the extension in spans of their own, with
                # whitespace between them in some layouts ("…的通知 .txt")
                expect(page.locator("#upload-files")).to_contain_text(
                    re.compile(r"关于成立光谷招商专班的通知\s*\.txt")
                )
                button.click()
                expect(page.locator("#documents")).to_contain_text("关于成立光谷招商专班的通知")
                shot(page, "06-admin-upload")
            page.context.close()
    assert outside == [], f"the page fetched from outside the machine: {outside}"
