"""The web app (Gradio UI and REST API on one server), sign-in and admin rights, and user feedback:
what ``app.py`` and ``policyqa serve`` expose."""
