"""The REST API (FastAPI) over ``PolicyQA``: health, documents, search, ask, admin uploads.

``create_api(svc, access)`` returns a FastAPI app; ``app.py`` mounts the Gradio UI beside
it so one server serves both, with the OpenAPI page at ``/docs`` (served from local
files: no CDN). Requests are pydantic models with limits. The edge translates errors:
a malformed body is 422 with a message saying what is wrong, a ``PolicyQAError`` is 400
with ``{"detail": <Chinese message>}`` (503 when the Chroma server is unreachable), an
unknown document 404; nothing a caller sends should produce a 500. With users configured
(``rag.serving.auth``) every ``/api`` route needs HTTP Basic credentials and the admin routes an
admin; ``/healthz`` stays open for probes.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field

from rag import library
from rag.errors import (
    ChromaUnavailableError,
    IndexBusyError,
    PolicyQAError,
    QueryError,
    SignInError,
    SignInThrottled,
)
from rag.service import MAX_QUERY_CHARS, PolicyQA
from rag.serving.auth import Access, SignInGuard, basic_credentials
from rag.serving.feedback import MAX_COMMENT_CHARS, feedback_store

log = logging.getLogger(__name__)

MAX_HISTORY = 20
MAX_UPLOAD_FILES = 20
DATE = r"^(\d{4}(-\d{1,2}(-\d{1,2})?)?)?$"


class FilterModel(BaseModel):
    """Metadata filters; text fields match as substrings, dates are YYYY[-MM[-DD]]."""

    model_config = ConfigDict(extra="forbid")
    kind: (
        list[Annotated[str, Field(max_length=40)]] | Annotated[str, Field(max_length=40)] | None
    ) = Field(
        default=None,
        max_length=10,
        description="policy_notice / experience_article / news / project_record / report",
    )
    region: str = Field(default="", max_length=100)
    issuer: str = Field(default="", max_length=100)
    doc_number: str = Field(default="", max_length=100)
    date_from: str = Field(default="", pattern=DATE)
    date_to: str = Field(default="", pattern=DATE)
    doc_ids: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=100)

    def mapping(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SearchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "query": "招商六组的牵头领导是谁",
                    "k": 5,
                    "retriever": "hybrid",
                    "filters": {"region": "焦作"},
                }
            ]
        },
    )
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: int | None = Field(
        default=None, ge=1, le=100, description="results; default POLICYQA_DEFAULT_K"
    )
    filters: FilterModel | None = None
    retriever: Literal["bm25", "dense", "hybrid"] = "hybrid"


class AskRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"question": "那招商七组呢？", "history": ["招商六组的牵头领导是谁？"]}]
        },
    )
    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    history: list[Annotated[str, Field(max_length=MAX_QUERY_CHARS)]] = Field(
        default=[], max_length=MAX_HISTORY, description="earlier user questions, oldest first"
    )
    filters: FilterModel | None = None


class ProjectsRequest(BaseModel):
    """Ledger filters; every field optional. Amounts in 亿元, bounds inclusive."""

    model_config = ConfigDict(extra="forbid")
    region: str = Field(default="", max_length=50, description="地区，如 山阳区、焦作")
    industry: str = Field(default="", max_length=50, description="产业，如 新材料")
    name: str = Field(default="", max_length=100, description="项目名称包含")
    min_amount: float | None = Field(default=None, ge=0, description="投资额下限（亿元）")
    max_amount: float | None = Field(default=None, ge=0, description="投资额上限（亿元）")
    stage: str = Field(default="", max_length=10, description="洽谈/签约/落地/开工/在建/投产")
    year: int | None = Field(default=None, ge=1900, le=2100)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: dict[str, Any] = Field(description="the answer as POST /api/ask returned it")
    liked: bool
    comment: str = Field(default="", max_length=MAX_COMMENT_CHARS)


_ERROR_ZH = {
    "missing": "缺少该字段",
    "json_invalid": "请求体不是有效的 JSON",
    "extra_forbidden": "不认识的字段",
    "string_too_short": "不能为空",
    "string_too_long": "过长",
    "too_long": "条目过多",
    "string_pattern_mismatch": "格式不正确（日期应为 YYYY、YYYY-MM 或 YYYY-MM-DD）",
    "literal_error": "取值无效",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
}


def describe_errors(errors: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """A Chinese summary of pydantic errors and a JSON-safe list of them.

    [{"loc": ("body", "question"), "type": "missing", "msg": "Field required"}] →
    "请求格式不正确：question：缺少该字段"
    """
    parts, clean = [], []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ())]
        if loc and loc[0] in (
            "body",
            "query",
            "path",
            "header",
            "cookie",
        ):  # where, not which field
            loc = loc[1:]
        where = ".".join(loc)
        what = _ERROR_ZH.get(e.get("type", ""), e.get("msg", ""))
        if e.get("type") == "json_invalid":  # loc holds the character offset, not a field
            where, what = "", f"{what}（约第 {loc[0] if loc else '?'} 个字符处）"
        parts.append(f"{where}：{what}" if where else what)
        clean.append(
            {"loc": list(e.get("loc", ())), "type": e.get("type", ""), "msg": str(e.get("msg", ""))}
        )
    seen = list(dict.fromkeys(parts))
    return "请求格式不正确：" + "；".join(seen), clean


_CHALLENGE = {"WWW-Authenticate": 'Basic realm="PolicyQA"'}


class BasicCredentials(HTTPBasic):
    """HTTP Basic as in the OpenAPI schema, read by ``rag.serving.auth.basic_credentials``: Chinese
    messages for malformed credentials, UTF-8 user names."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        try:
            pair = basic_credentials(request.headers.get("authorization"))
        except SignInError as e:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(e), headers=_CHALLENGE) from e
        return HTTPBasicCredentials(username=pair[0], password=pair[1]) if pair else None


_basic = BasicCredentials(auto_error=False, realm="PolicyQA")


def current_user(
    request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]
) -> str | None:
    """The signed-in user (HTTP Basic), None when sign-in is off; 401 on missing/wrong
    credentials, 429 while the user or the address is locked out after wrong passwords."""
    access: Access = request.app.state.access
    if not access.enabled:
        return None
    guard: SignInGuard = request.app.state.guard
    address = request.client.host if request.client else ""
    try:
        ok = credentials is not None and guard.check(
            credentials.username, credentials.password, address
        )
    except SignInThrottled as e:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, str(e), headers={"Retry-After": "5"}
        ) from e
    if not ok or credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "需要登录：请提供正确的用户名和密码（HTTP Basic）",
            headers=_CHALLENGE,
        )
    return credentials.username


User = Annotated[str | None, Depends(current_user)]


def admin_user(request: Request, user: User) -> str | None:
    """The user, if an admin may act (403 otherwise)."""
    if not request.app.state.access.is_admin(user):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "当前用户没有管理权限（上传、删除、重建索引仅限管理员）"
        )
    return user


Admin = Annotated[str | None, Depends(admin_user)]


def create_api(
    svc: PolicyQA, access: Access | None = None, guard: SignInGuard | None = None
) -> FastAPI:
    """The FastAPI app with every REST route; no Gradio here (``app.create_server`` adds it)."""
    from fastapi_offline import FastAPIOffline

    access = access or Access.from_settings(svc.settings)
    guard = guard or SignInGuard(access, svc.settings)
    api = FastAPIOffline(
        title="PolicyQA 招商政策问答助手 API",
        description="检索与带出处的回答。错误信息为中文（detail 字段）。",
        version="1.0",
        redoc_url=None,
    )
    api.state.access = access
    api.state.guard = guard

    _add_error_handlers(api)
    _add_reading_routes(api, svc, access)
    _add_onboarding_routes(api, svc)
    _add_write_routes(api, svc)
    return api


def _add_error_handlers(api: FastAPI) -> None:
    """Every ``PolicyQAError`` as a JSON ``detail`` with its status: 422 invalid request, 503 Chroma
    down, 409 index busy, 400 otherwise; anything unexpected is logged and answered 500."""

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = describe_errors(list(exc.errors()))
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @api.exception_handler(ChromaUnavailableError)
    async def _chroma_down(request: Request, exc: ChromaUnavailableError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})

    @api.exception_handler(IndexBusyError)
    async def _busy(request: Request, exc: IndexBusyError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409, headers={"Retry-After": "10"})

    @api.exception_handler(PolicyQAError)
    async def _policyqa_error(request: Request, exc: PolicyQAError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @api.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"服务器内部错误：{type(exc).__name__}"}, status_code=500)


def _add_reading_routes(api: FastAPI, svc: PolicyQA, access: Access) -> None:
    """Health, documents, search, ask and the project ledger: reads, for any signed-in user."""

    @api.get("/healthz", tags=["status"])
    def healthz() -> JSONResponse:
        """Whether the index opens, with its document and chunk counts and the embedder."""
        try:
            stats = svc.health()
        except PolicyQAError as e:
            return JSONResponse(
                {
                    "status": "error",
                    "index_loaded": False,
                    "detail": str(e),
                    "chroma": svc.settings.chroma_url or "embedded",
                },
                status_code=503,
            )
        return JSONResponse(
            {
                "status": "ok",
                "index_loaded": True,
                "documents": stats["documents"],
                "chunks": stats["chunks"],
                "embedder": stats["embedder"],
                "dim": stats["dim"],
                "chroma": stats["chroma"],
                "auth": access.enabled,
            }
        )

    @api.get("/api/documents", tags=["documents"])
    def documents(user: User) -> dict[str, Any]:
        """Every indexed document with its metadata and chunk count (a ledger sheet is one entry
        with its row count in ``rows``)."""
        return {"documents": svc.library_documents()}

    @api.get("/api/documents/{doc_id}", tags=["documents"])
    def document(doc_id: str, user: User) -> dict[str, Any]:
        """One document's metadata and its text, section by section."""
        try:
            meta, sections = svc.document_sections(doc_id)
        except PolicyQAError as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
        keys = ("doc_id", "title", "kind", "issuer", "doc_number", "date", "region", "source")
        return {k: meta.get(k, "") for k in keys} | {
            "sections": [{"section_path": p, "text": "\n".join(texts)} for p, texts in sections]
        }

    @api.post("/api/search", tags=["retrieval"])
    def search(req: SearchRequest, user: User) -> dict[str, Any]:
        """Ranked passages; ``score`` is the fused score, the ranks show which retriever found each."""
        hits = svc.search(
            req.query,
            k=req.k,
            filters=req.filters.mapping() if req.filters else None,
            retriever=req.retriever,
        )
        return {
            "query": req.query,
            "retriever": req.retriever,
            "results": [h.to_json(duplicates=False) for h in hits],
        }

    @api.post("/api/ask", tags=["retrieval"])
    def ask(req: AskRequest, user: User) -> dict[str, Any]:
        """A cited answer (Answer.to_dict) or a refusal naming the closest documents."""
        answer = svc.ask(
            req.question,
            history=req.history,
            filters=req.filters.mapping() if req.filters else None,
        )
        return answer.to_dict()

    @api.post("/api/projects", tags=["projects"])
    def projects(req: ProjectsRequest, user: User) -> dict[str, Any]:
        """项目台账：按地区、产业、投资额、阶段、年份筛选，返回项目、数量和已知投资额合计。"""
        filters = {k: v for k, v in req.model_dump().items() if v not in (None, "")}
        return svc.query_projects(filters)


def _add_onboarding_routes(api: FastAPI, svc: PolicyQA) -> None:
    """新人入门: the responsibility map, the glossary and document outlines."""

    @api.get("/api/responsibilities", tags=["onboarding"])
    def responsibilities(
        user: User, actor: str = "", region: str = "", role: str = "", deadline: bool = False
    ) -> dict[str, Any]:
        """新人入门职责清单：谁负责什么、何时报送；每行附原文和出处。actor 可写 市商务局/焦作市商务局/商务局。"""
        rows = svc.responsibilities(actor=actor, region=region, role=role, deadline=deadline)
        return {"count": len(rows), "responsibilities": [r.to_dict() for r in rows]}

    @api.get("/api/glossary", tags=["onboarding"])
    def glossary(user: User, q: str = "") -> dict[str, Any]:
        """术语表：文件定义或使用的术语（“7+X”、以商招商…），附定义句、出处和相关同义词组。"""
        entries = svc.glossary(q)
        return {
            "query": q,
            "count": len(entries),
            "entries": [e.to_dict() for e in entries],
            "synonyms": [list(g) for g in svc.synonym_groups(q)] if q else [],
        }

    @api.get("/api/documents/{doc_id}/outline", tags=["onboarding"])
    def outline(doc_id: str, user: User) -> dict[str, Any]:
        """文件概览：类型、发文机关、文号、日期，以及各级标题和其下第一句（附 chunk_id，可定位原文）。"""
        try:
            return svc.document_outline(doc_id).to_dict()
        except QueryError as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e


def _add_write_routes(api: FastAPI, svc: PolicyQA) -> None:
    """Feedback (any user) and the library's admin operations: upload, delete, re-index."""

    @api.post("/api/feedback", tags=["feedback"])
    def feedback(req: FeedbackRequest, user: User) -> dict[str, Any]:
        """Store 👍 (liked=true) or 👎 with an optional comment for an answer."""
        rowid = feedback_store(svc.settings.index_dir).add(
            req.answer, req.liked, req.comment, user or ""
        )
        return {"id": rowid}

    @api.post("/api/documents", tags=["admin"])
    async def upload(
        files: Annotated[list[UploadFile], File(description="txt md pdf docx html jsonl csv xlsx")],
        user: Admin,
        replace: Annotated[
            bool, Form(description="replace earlier uploads of the same name")
        ] = False,
    ) -> dict[str, Any]:
        """Upload and ingest files (admin). One result per file: added/updated/unchanged/failed + reason.

        A file never takes another document's id: on a name clash it is saved under a free name
        (the reason says so). ``replace=true`` replaces an earlier upload of the same name; the
        result names the old version in ``replaced``.
        """
        if len(files) > MAX_UPLOAD_FILES:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, f"一次最多上传 {MAX_UPLOAD_FILES} 个文件"
            )
        limit = int(svc.settings.max_file_mb * 1e6)
        batch: list[tuple[str, bytes | Any]] = []
        early: dict[int, library.FileResult] = {}
        for i, f in enumerate(files):
            data = await f.read(limit + 1)
            name = f.filename or "upload"
            if len(data) > limit:
                early[i] = library.FileResult(
                    library.safe_or(name),
                    "failed",
                    0,
                    f"文件过大，上限为 {svc.settings.max_file_mb:g} MB",
                )
            else:
                batch.append((name, data))
        from starlette.concurrency import run_in_threadpool

        done = iter(await run_in_threadpool(svc.add_uploads, batch, replace))
        results = [early[i] if i in early else next(done) for i in range(len(files))]
        return {"results": [r.to_dict() for r in results]}

    @api.delete("/api/documents/{doc_id}", tags=["admin"])
    def delete(doc_id: str, user: Admin) -> dict[str, Any]:
        """Remove a document and its chunks (admin)."""
        try:
            chunks = svc.delete_document(doc_id)
        except QueryError as e:  # no such document (a busy index is 409, by its handler)
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
        return {"doc_id": doc_id, "chunks_deleted": chunks}

    @api.post("/api/reindex", tags=["admin"])
    def reindex(user: Admin) -> dict[str, Any]:
        """Re-read the corpus and uploads folders (admin); files that are gone are dropped."""
        report = svc.reindex()
        return {
            "added": report.added,
            "updated": report.updated,
            "unchanged": len(report.unchanged),
            "removed": report.removed,
            "failed": [{"file": p, "reason": r} for p, r in report.failed],
        }
