"""One module per tab of the web app: its event handlers (a small class over the service) and
a ``build_*`` function that lays the tab out and wires the events. ``rag.serving.app`` composes them."""
