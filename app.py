"""PolicyQA web app and REST API: ``python app.py [--host H] [--port P]``.

The app itself is ``rag.serving.app`` (``create_app``, ``create_server``, ``launch``); this
entry point only parses arguments, builds ``Settings`` and serves. The names tests import
from here are re-exported.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from rag.errors import PolicyQAError
from rag.serving.app import create_app, create_server, launch
from rag.serving.auth import Access
from rag.serving.render import (
    OCR_NOTE,
    eval_sets,
    filters_from,
    highlight,
    render_answer,
    source_cards,
    ui_options,
)
from rag.settings import Settings

__all__ = ["OCR_NOTE", "create_app", "create_server", "eval_sets", "filters_from", "highlight"]
__all__ += ["launch", "main", "render_answer", "source_cards", "ui_options"]


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description="PolicyQA web app and REST API")
    parser.add_argument("--host", default=None, help="default POLICYQA_HOST or 127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default POLICYQA_PORT or 7860")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        Access.from_settings(settings)
    except PolicyQAError as e:
        parser.exit(2, f"错误：{e}\n")
    launch(settings, args.host, args.port)


if __name__ == "__main__":
    main()
