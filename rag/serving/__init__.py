"""The REST API, sign-in and admin rights, and user feedback: what the app and ``policyqa serve`` expose."""
